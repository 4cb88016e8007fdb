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

// Enter in a field whose keydown handler prevents the default and empties
// it (a send that finishes at once) leaves it empty. With chromedp's kb the
// newline came in a separate char event after the handler had run, and the
// composer kept it: "wait for the composer empty again" failed under load.
func TestPressEnterTypesNoNewlineThePageRefused(t *testing.T) {
	b := StartBrowser(t)
	tab := b.NewTab("page", nil)
	tab.Navigate(`data:text/html,<textarea aria-label="Message">hello</textarea><script>
		document.querySelector('textarea').addEventListener('keydown', (e) => {
			if (e.key === 'Enter') { e.preventDefault(); e.target.value = ''; }
		});
	</script>`)
	tab.PressEnter("textbox", "Message")
	if got := tab.Value("textbox", "Message"); got != "" {
		t.Fatalf("after Enter the field holds %q, want it empty", got)
	}
}
