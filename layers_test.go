package parley_test

import (
	"go/build"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/parley-im/parley"

// forbidden lists, for each top-level folder, the project packages it must
// not import: dependencies point one way, cmd → gui → node → pubsub →
// storage, identity → root (README.md, "Layout").
var forbidden = map[string][]string{
	".":        {"identity", "storage", "node", "pubsub", "gui", "cmd"},
	"identity": {"storage", "node", "pubsub", "gui", "cmd"},
	"storage":  {"identity", "node", "pubsub", "gui", "cmd"},
	"pubsub":   {"node", "gui", "cmd"},
	"node":     {"gui", "cmd"},
	"gui":      {"cmd"},
}

func TestLayers(t *testing.T) {
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && path != "." || d.Name() == "testdata" {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(path, 0)
		if err != nil {
			return nil // no Go files here
		}
		top := strings.SplitN(filepath.ToSlash(path), "/", 2)[0]
		for _, imp := range pkg.Imports {
			rel, ok := strings.CutPrefix(imp, module+"/")
			if !ok {
				continue
			}
			for _, bad := range forbidden[top] {
				if rel == bad || strings.HasPrefix(rel, bad+"/") {
					t.Errorf("%s imports %s: %s may not depend on %s", path, imp, top, bad)
				}
			}
		}
		if top == "." {
			for _, imp := range pkg.Imports {
				if strings.Contains(imp, ".") && !strings.HasPrefix(imp, "google.golang.org/protobuf") && imp != module+"/pb" {
					t.Errorf("the root package imports %s: it may use only the standard library and protobuf", imp)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
