package main

import "golang.org/x/sys/unix"

// echoOff turns the terminal's echo off and returns what turns it back on.
// It runs before the prompt is printed, so a passphrase typed or pasted as
// soon as the prompt shows is never echoed; term.ReadPassword alone turns
// echo off only after the prompt is out.
func echoOff(fd int) (restore func()) {
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return func() {}
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
		return func() {}
	}
	return func() { unix.IoctlSetTermios(fd, unix.TCSETS, old) }
}
