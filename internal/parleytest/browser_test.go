package parleytest

import (
	"os"
	"testing"
)

// outcome is a test that ends as told, running its cleanups at the end.
type outcome struct {
	testing.TB
	failed   bool
	cleanups []func()
}

func (o *outcome) Failed() bool      { return o.failed }
func (o *outcome) Cleanup(fn func()) { o.cleanups = append(o.cleanups, fn) }
func (o *outcome) end() {
	for i := len(o.cleanups) - 1; i >= 0; i-- {
		o.cleanups[i]()
	}
}

// Screenshots of a passing test are removed with it; a failed test's stay
// for a person to look at. Before, every run left a folder in the temp dir.
func TestArtifactsOutliveOnlyFailedTests(t *testing.T) {
	t.Setenv("PARLEY_ARTIFACTS", "")
	for _, failed := range []bool{false, true} {
		o := &outcome{TB: t, failed: failed}
		art := NewArtifacts(o)
		art.Save("shot", []byte("png"))
		o.end()
		_, err := os.Stat(art.dir)
		if kept := err == nil; kept != failed {
			t.Errorf("failed=%v: folder kept=%v (%v)", failed, kept, err)
		}
		os.RemoveAll(art.dir)
	}
}
