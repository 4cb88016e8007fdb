package client_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeBot: the README's Go bot is Example_bot as a program, so the
// README's copy compiles as long as the example does.
func TestReadmeBot(t *testing.T) {
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)\n(import \(.*?\n\))\n.*\nfunc Example_bot\(\) \{\n(.*)\n\}\n$`).FindSubmatch(src)
	if m == nil {
		t.Fatal("example_test.go: no import block and Example_bot found")
	}
	want := "package main\n\n" + string(m[1]) + "\n\nfunc main() {\n" + string(m[2]) + "\n}\n"

	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Write a bot\n")
	if !ok {
		t.Fatal(`README.md has no "## Write a bot" section`)
	}
	block := regexp.MustCompile("(?s)```go\n(.*?)```").FindStringSubmatch(section)
	if block == nil {
		t.Fatal("README.md's Write a bot section has no go block")
	}
	if block[1] != want {
		t.Errorf("README.md's bot differs from Example_bot in example_test.go; the README's should read:\n%s", want)
	}
}
