package files

import (
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"unicode"
)

// SafeName turns a name from a peer into one that can only name a file
// inside the downloads folder: no directories, no "." or "..", no control
// or bidi characters, no leading dot (hidden files), no Windows-reserved
// characters, at most 200 bytes. What is left empty becomes "file".
func SafeName(name string) string {
	// Both separators, whatever this OS uses: a name from Windows says
	// `..\..\x`.
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	for _, r := range name {
		switch {
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r):
		case strings.ContainsRune(`<>:"|?*`, r):
			b.WriteRune('_')
		default:
			b.WriteRune(r)
		}
	}
	name = strings.TrimLeft(strings.TrimSpace(b.String()), ".")
	for len(name) > 200 {
		ext := filepath.Ext(name)
		if len(ext) > 20 {
			ext = ""
		}
		base := []rune(strings.TrimSuffix(name, ext))
		name = string(base[:len(base)-1]) + ext
	}
	if name == "" {
		return "file"
	}
	return name
}

// maxFreeNames bounds the names FreeNames offers.
const maxFreeNames = 10000

// FreeNames yields the names to try, in order, for a file called name that
// must not replace another: "name.ext", then "name (1).ext", "name (2).ext"...
func FreeNames(name string) iter.Seq[string] {
	ext := filepath.Ext(name)
	base := strings.TrimSuffix(name, ext)
	return func(yield func(string) bool) {
		if !yield(name) {
			return
		}
		for i := 1; i < maxFreeNames; i++ {
			if !yield(fmt.Sprintf("%s (%d)%s", base, i, ext)) {
				return
			}
		}
	}
}

// place moves the finished file at part into dir under name, never over an
// existing file (FreeNames). It returns the path it used.
func place(part, dir, name string) (string, error) {
	for candidate := range FreeNames(name) {
		path := filepath.Join(dir, candidate)
		// A hard link fails if the name is taken, so no file is ever
		// replaced, even by a race with another program.
		err := os.Link(part, path)
		switch {
		case err == nil:
			return path, os.Remove(part)
		case errors.Is(err, fs.ErrExist):
			continue
		default:
			// No hard links here (some file systems): check, then rename.
			if _, serr := os.Lstat(path); !errors.Is(serr, fs.ErrNotExist) {
				continue
			}
			return path, os.Rename(part, path)
		}
	}
	return "", fmt.Errorf("no free name for %q in %s", name, dir)
}
