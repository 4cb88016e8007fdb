package parley_test

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// protoNotInSpec lists the .proto files that PROTOCOL.md's appendix does not
// copy, each with why. Any other .proto file must be copied there verbatim.
var protoNotInSpec = map[string]string{
	"identity/pb/keystore.proto":    "the local keystore file: never on the wire",
	"node/mailbox/pb/mailbox.proto": "§9 (mailboxes) describes its messages while the protocol is being built",
}

// protoHeading starts an appendix copy: "### A.1 `pb/envelope.proto`".
var protoHeading = regexp.MustCompile("^### A\\.[0-9]+ `([^`]+\\.proto)`$")

// specProtoCopies returns the .proto texts PROTOCOL.md quotes, by path: each
// is the ```proto block that follows its heading.
func specProtoCopies(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	copies := make(map[string]string)
	var (
		path  string // the heading's file, until its block ends
		in    bool   // inside its ```proto block
		text  strings.Builder
		lines = bufio.NewScanner(f)
	)
	for n := 1; lines.Scan(); n++ {
		line := lines.Text()
		switch {
		case in && line == "```":
			copies[path] = text.String()
			path, in = "", false
			text.Reset()
		case in:
			text.WriteString(line + "\n")
		case protoHeading.MatchString(line):
			path = protoHeading.FindStringSubmatch(line)[1]
			if _, dup := copies[path]; dup {
				t.Errorf("PROTOCOL.md:%d: %s is copied twice", n, path)
			}
		case path != "" && line == "```proto":
			in = true
		case path != "" && line != "":
			t.Fatalf("PROTOCOL.md:%d: the heading for %s is not followed by a ```proto block", n, path)
		}
	}
	if err := lines.Err(); err != nil {
		t.Fatal(err)
	}
	if in {
		t.Fatalf("PROTOCOL.md: the copy of %s never ends", path)
	}
	return copies
}

// TestProtocolProtoCopies keeps the .proto texts in PROTOCOL.md identical to
// the normative files, so an implementer reading the spec alone gets the
// real field numbers and types.
func TestProtocolProtoCopies(t *testing.T) {
	copies := specProtoCopies(t)
	var files []string
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "testdata") && p != "." {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".proto") {
			files = append(files, filepath.ToSlash(p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("found no .proto files: is the test running in the module root?")
	}
	for _, p := range files {
		text, copied := copies[p]
		if why, exempt := protoNotInSpec[p]; exempt {
			if copied {
				t.Errorf("%s is copied in PROTOCOL.md but listed as not copied (%s): drop it from protoNotInSpec", p, why)
			}
			continue
		}
		if !copied {
			t.Errorf("%s has no copy in PROTOCOL.md's appendix A: add one (### A.n `%s` and a ```proto block), or say in protoNotInSpec why not", p, p)
			continue
		}
		want, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if text != string(want) {
			t.Errorf("PROTOCOL.md's copy of %s differs from the file (first difference at line %d): paste the file's text again", p, firstDiffLine(text, string(want)))
		}
	}
	for p := range copies {
		if !slices.Contains(files, p) {
			t.Errorf("PROTOCOL.md copies %s, which does not exist", p)
		}
	}
}

func firstDiffLine(a, b string) int {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return i + 1
		}
	}
	return min(len(al), len(bl)) + 1
}
