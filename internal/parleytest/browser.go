package parleytest

// A harness for driving the web GUI in a real headless Chromium through the
// DevTools protocol (chromedp): tabs in separate browser contexts (each its
// own cookie jar, as two people's browsers), elements found by their ARIA
// role and accessible name as a screen reader finds them, waits on DOM
// conditions (never on sleeps), and screenshots at a phone's and a
// desktop's size.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// browserStepTimeout bounds one step: a wait for a message to cross from
// one node to the other included.
const browserStepTimeout = 45 * time.Second

// chromeEnv names a browser binary to use instead of looking one up.
const chromeEnv = "PARLEY_CHROME"

// chromePath finds Chromium or Chrome; "" when there is none.
func chromePath() string {
	if p := os.Getenv(chromeEnv); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Browser is a headless Chromium, stopped when the test ends.
type Browser struct {
	t   testing.TB
	ctx context.Context // the browser's; tabs derive from it
}

// StartBrowser starts a headless Chromium for the test, or skips the test
// when none is installed. flags are added to the command line, e.g. a fake
// camera for the one test that scans with it.
func StartBrowser(t testing.TB, flags ...chromedp.ExecAllocatorOption) *Browser {
	t.Helper()
	path := chromePath()
	if path == "" {
		t.Skipf("no Chromium found (set $%s, or install Debian's chromium as .ci/run does): skipping the browser test", chromeEnv)
	}
	// Chromium's own temporary files (org.chromium.Chromium.*) go in a
	// folder of the test's, removed with it. Its path stays short: a unix
	// socket lives there.
	tmp, err := os.MkdirTemp("", "pc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.WindowSize(1280, 800),
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.Env("TMPDIR="+tmp),
	)
	opts = append(opts, flags...)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first action starts the browser, bound to the context it runs
	// with: that must be ctx itself, not a shorter-lived child.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	return &Browser{t: t, ctx: ctx}
}

// Tab is one person's browser window.
type Tab struct {
	t    testing.TB
	name string
	ctx  context.Context
	art  *Artifacts
}

// NewTab opens a tab in a browser context of its own: cookies are not
// shared with other tabs.
func (b *Browser) NewTab(name string, art *Artifacts) *Tab {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	tb := &Tab{t: b.t, name: name, ctx: ctx, art: art}
	// The first action opens the tab, bound to the context it runs with.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(desktop.w, desktop.h)); err != nil {
		cancel()
		b.t.Fatalf("open a tab for %s: %v", name, err)
	}
	// The page's uncaught exceptions and Content-Security-Policy violations
	// fail the test: they are bugs even where no step noticed.
	var bad []string
	done := make(chan struct{})
	messages := chromedp.Console(ctx)
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
				bad = append(bad, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1))
			}
		}
	}()
	b.t.Cleanup(func() {
		cancel()
		<-done
		for _, m := range bad {
			b.t.Errorf("%s's page: %s", name, m)
		}
	})
	return tb
}

// Do runs steps with a deadline; on failure it saves a screenshot and the
// page's text, then fails the test. Steps that lost their element because
// the app redrew it between finding and using it (a list refreshed as the
// page loads, say) run again, finding it anew.
func (tb *Tab) Do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, browserStepTimeout)
	defer cancel()
	for {
		err := chromedp.Do(ctx, steps...)
		if err == nil {
			return
		}
		if !staleNode(err) || ctx.Err() != nil {
			tb.fail(what, err)
		}
	}
}

// staleNode: the DevTools protocol no longer knows the node a step found.
func staleNode(err error) bool {
	s := err.Error()
	return strings.Contains(s, "Could not find node with given id") || strings.Contains(s, "Node is detached")
}

// Run runs one action with a deadline and returns its result, failing
// the test as Do does.
func Run[T any](tb *Tab, what string, a chromedp.Action[T]) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, browserStepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		tb.fail(what, err)
	}
	return v
}

func (tb *Tab) fail(what string, err error) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	if png, e := chromedp.Run(ctx, chromedp.CaptureScreenshot()); e == nil && tb.art != nil {
		path := tb.art.Save(fmt.Sprintf("FAILED-%s", tb.name), png)
		tb.t.Logf("%s's screen when it failed: %s", tb.name, path)
	}
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
	tb.t.Fatalf("%s: %s: %v\n--- page text:\n%s", tb.name, what, err, text)
}

// ByRole finds elements by ARIA role and accessible name, as assistive
// technology (and Playwright's getByRole) does: through the browser's
// accessibility tree. Ignored nodes (hidden, display:none) do not count.
func ByRole(role, name string) chromedp.QueryOption {
	if r, ok := chromeRoles[role]; ok {
		role = r
	}
	return chromedp.ByFunc(func(ctx context.Context, t *chromedp.Target, n *chromedp.Node) ([]cdp.NodeID, error) {
		res, err := cdp.Call(ctx, t, accessibility.QueryAXTree,
			accessibility.QueryAXTreeParams{NodeID: n.NodeID, Role: role, AccessibleName: name})
		if err != nil {
			return nil, err
		}
		var backend []cdp.BackendNodeID
		for _, ax := range res.Nodes {
			if !ax.Ignored && ax.BackendDOMNodeID != 0 {
				backend = append(backend, ax.BackendDOMNodeID)
			}
		}
		if len(backend) == 0 {
			return []cdp.NodeID{}, nil
		}
		pushed, err := cdp.Call(ctx, t, dom.PushNodesByBackendIDsToFrontend,
			dom.PushNodesByBackendIDsToFrontendParams{BackendNodeIDs: backend})
		if err != nil {
			return nil, err
		}
		return pushed.NodeIDs, nil
	})
}

// chromeRoles maps ARIA roles to the names Chrome's accessibility tree
// gives them, where the two differ.
var chromeRoles = map[string]string{"img": "image"}

func label(role, name string) string { return fmt.Sprintf("%s %q", role, name) }

// WaitRole waits until an element with this role and name is visible.
func (tb *Tab) WaitRole(role, name string) {
	tb.t.Helper()
	tb.Do("wait for "+label(role, name), chromedp.WaitVisible(label(role, name), ByRole(role, name)))
}

// Click clicks the element with this role and name.
func (tb *Tab) Click(role, name string) {
	tb.t.Helper()
	tb.Do("click "+label(role, name), chromedp.Click(label(role, name), ByRole(role, name)))
}

// TypeIn types text key by key into the field, as a person would.
func (tb *Tab) TypeIn(role, name, text string) {
	tb.t.Helper()
	tb.Do("type into "+label(role, name), chromedp.SendKeys(label(role, name), text, ByRole(role, name)))
}

// Paste puts text into the field at once, as pasting does (Input.insertText).
func (tb *Tab) Paste(role, name, text string) {
	tb.t.Helper()
	tb.Do("paste into "+label(role, name),
		chromedp.Focus(label(role, name), ByRole(role, name)),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: text})
			return err
		}))
}

// Send writes a message in the composer and sends it with Enter.
func (tb *Tab) Send(text string) {
	tb.t.Helper()
	tb.Paste("textbox", "Message", text)
	tb.PressEnter("textbox", "Message")
	tb.WaitJS("the composer empty again", `document.querySelector('#composer')?.value === ''`)
}

// PressEnter focuses the element and presses Enter as a keyboard does.
func (tb *Tab) PressEnter(role, name string) {
	tb.t.Helper()
	tb.Do("press Enter in "+label(role, name), chromedp.Focus(label(role, name), ByRole(role, name)), pressEnter)
}

// pressEnter sends Enter as one keyDown carrying its text, as a real
// keyboard's does, so a keydown handler that prevents the default also
// stops the newline. chromedp's kb sends the text in a separate char
// event, which that cannot stop: on a loaded machine a send could finish
// and empty the composer before the char event came, leaving a newline.
var pressEnter = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	key := input.DispatchKeyEventParams{
		Type: input.DispatchKeyEventTypeKeyDown, Key: "Enter", Code: "Enter",
		WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13, Text: "\r", UnmodifiedText: "\r",
	}
	if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, key); err != nil {
		return err
	}
	key.Type, key.Text, key.UnmodifiedText = input.DispatchKeyEventTypeKeyUp, "", ""
	_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, key)
	return err
})

// Value reads a form field's value.
func (tb *Tab) Value(role, name string) string {
	tb.t.Helper()
	return Run(tb, "read "+label(role, name), chromedp.Value(label(role, name), ByRole(role, name)))
}

// WaitJS waits until a JavaScript expression is truthy.
func (tb *Tab) WaitJS(what, expr string) {
	tb.t.Helper()
	Run(tb, "wait for "+what, chromedp.Poll[bool](expr,
		chromedp.WithPollingInterval(40*time.Millisecond), chromedp.WithPollingTimeout(browserStepTimeout)))
}

// Eval evaluates a JavaScript expression.
func Eval[T any](tb *Tab, what, expr string) T {
	tb.t.Helper()
	return Run(tb, what, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// WaitText waits until the page shows text (in its visible text).
func (tb *Tab) WaitText(text string) {
	tb.t.Helper()
	tb.WaitJS(fmt.Sprintf("text %q", text), fmt.Sprintf(`document.body.innerText.includes(%q)`, text))
}

// WaitMessage waits until the open conversation shows a message with text.
func (tb *Tab) WaitMessage(text string) {
	tb.t.Helper()
	tb.WaitJS(fmt.Sprintf("message %q", text), fmt.Sprintf(
		`[...document.querySelectorAll('.messages .msg .text')].some(e => e.textContent === %q && e.checkVisibility())`, text))
}

// TickOf is the text alternative of the status tick on our message with
// text, as the accessibility tree names it; "" when there is none.
func (tb *Tab) TickOf(text string) string {
	tb.t.Helper()
	return Eval[string](tb, "read a tick", fmt.Sprintf(`(() => {
		const li = [...document.querySelectorAll('.messages .msg.out')].find(li => li.querySelector('.text').textContent === %q);
		return li?.querySelector('[role=img]')?.getAttribute('aria-label') ?? '';
	})()`, text))
}

// Navigate goes to a URL and waits for the page's load.
func (tb *Tab) Navigate(u string) {
	tb.t.Helper()
	tb.Do("open "+u, chromedp.Navigate(u))
}

// OnNewDocument runs script in every page the tab opens from now on,
// before the page's own scripts: to watch or hold what the page does.
func (tb *Tab) OnNewDocument(script string) {
	tb.t.Helper()
	tb.Do("add a script to new pages", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: script})
		return err
	}))
}

// size is a window size for screenshots.
type size struct {
	name string
	w, h int64
}

var (
	phone   = size{"phone", 390, 844}
	desktop = size{"desktop", 1280, 800}
)

// Artifacts is where screenshots go: $PARLEY_ARTIFACTS, else a temporary
// directory that outlives a failed test so a person can look.
type Artifacts struct {
	t   testing.TB
	dir string
	mu  sync.Mutex
	n   int // guarded by mu
}

// NewArtifacts makes the screenshot folder for the test and logs where it is.
func NewArtifacts(t testing.TB) *Artifacts {
	t.Helper()
	dir := os.Getenv("PARLEY_ARTIFACTS")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "parley-browser-"); err != nil {
			t.Fatal(err)
		}
		// Kept for a person to look at only when the test failed.
		t.Cleanup(func() {
			if !t.Failed() {
				os.RemoveAll(dir)
			}
		})
	} else {
		dir = filepath.Join(dir, t.Name())
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return &Artifacts{t: t, dir: dir}
}

// Save writes a screenshot, numbered in the order taken, and returns its path.
func (a *Artifacts) Save(name string, png []byte) string {
	a.mu.Lock()
	a.n++
	path := filepath.Join(a.dir, fmt.Sprintf("%02d-%s.png", a.n, name))
	a.mu.Unlock()
	if err := os.WriteFile(path, png, 0o644); err != nil {
		a.t.Errorf("save screenshot: %v", err)
	}
	return path
}

// Shoot saves what the tab shows at a phone's and a desktop's size, then
// returns to the desktop size the test drives at. Layout settles before
// each shot: the size changes, then two animation frames pass.
func (tb *Tab) Shoot(name string) {
	tb.t.Helper()
	tb.shootIn(name, "")
}

// ShootDark is shoot in the dark theme (prefers-color-scheme: dark).
func (tb *Tab) ShootDark(name string) {
	tb.t.Helper()
	tb.setScheme("dark")
	tb.shootIn(name, "-dark")
	tb.setScheme("")
}

func (tb *Tab) setScheme(scheme string) {
	tb.t.Helper()
	var features []*emulation.MediaFeature
	if scheme != "" {
		features = append(features, &emulation.MediaFeature{Name: "prefers-color-scheme", Value: scheme})
	}
	tb.Do("emulate color scheme "+scheme, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: features})
		return err
	}))
}

func (tb *Tab) shootIn(name, variant string) {
	tb.t.Helper()
	for _, s := range []size{phone, desktop} {
		tb.Do("resize to "+s.name, chromedp.EmulateViewport(s.w, s.h))
		Eval[bool](tb, "let layout settle", `new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`)
		png := Run(tb, "screenshot", chromedp.CaptureScreenshot())
		tb.art.Save(fmt.Sprintf("%s-%s-%s%s", tb.name, name, s.name, variant), png)
	}
}

// AllowDownloads has the tab's browser save downloads in dir, under the
// names the server gives them, without asking.
func (tb *Tab) AllowDownloads(dir string) {
	tb.t.Helper()
	c := chromedp.FromContext(tb.ctx)
	ctx, cancel := context.WithTimeout(tb.ctx, browserStepTimeout)
	defer cancel()
	_, err := cdp.Call(ctx, c.Browser, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, BrowserContextID: c.BrowserContextID, DownloadPath: dir,
	})
	if err != nil {
		tb.fail("allow downloads", err)
	}
}
