package web_test

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/parley-im/parley/gui/web"
)

// The app's code never turns strings into markup or code: with the CSP, it
// is what keeps a peer's message text from ever running as script.
func TestWebAppBuildsNoMarkupFromStrings(t *testing.T) {
	bad := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setTimeout\(['"]`)
	err := fs.WalkDir(web.FS, "static", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".js") {
			return err
		}
		b, err := fs.ReadFile(web.FS, path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if bad.MatchString(line) {
				t.Errorf("%s:%d: %s", path, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
