//go:build !linux

package main

// echoOff is a no-op where the terminal is not Linux's: term.ReadPassword
// still reads without echo, only from after the prompt is printed.
func echoOff(int) (restore func()) { return func() {} }
