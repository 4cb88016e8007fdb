package main

// The web GUI in a real browser against real nodes: what issue 5 asks a
// person to be able to do, done by driving headless Chromium the way a
// person (or a screen reader) finds things: by role and accessible name.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-im/parley/gui/client"
	"github.com/parley-im/parley/internal/parleytest"
)

// Two people who have never used Parley: each opens the link their node
// printed, picks a name; Bob adds Alice by her invite and writes; Alice
// accepts the request, reads (Bob sees "read") and answers; Alice starts a
// group, invites Bob, who accepts; both write in it. Then Alice's node
// restarts under her open page, which reconnects and catches up by itself.
func TestBrowserTwoPeopleChat(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes and a browser")
	}
	b := parleytest.StartBrowser(t)
	art := parleytest.NewArtifacts(t)
	// Never named: --name "" keeps the node's default name.
	alice, bob := parleytest.StartProcess(t, "alice", "--name", ""), parleytest.StartProcess(t, "bob", "--name", "")
	a, bb := b.NewTab("alice", art), b.NewTab("bob", art)

	// First run: choose a name.
	a.Navigate(alice.LoginURL())
	a.WaitRole("textbox", "Your name")
	a.Shoot("first-run")
	a.TypeIn("textbox", "Your name", "Alice")
	a.Click("button", "Continue")

	// Her invite code, as text (copied with the button) and as a QR code.
	a.WaitRole("textbox", "Your invite code")
	a.WaitJS("the QR code drawn", `document.querySelector('.qr img')?.naturalWidth > 0`)
	a.Click("button", "Copy invite code")
	a.WaitRole("status", "")
	a.WaitText("Copied")
	invite := a.Value("textbox", "Your invite code")
	if invite != alice.Invite() || !strings.HasPrefix(invite, "parley:") {
		t.Fatalf("the invite shown is not alice's: %.40q…", invite)
	}
	if got := parleytest.Eval[string](a, "read the clipboard", `navigator.clipboard.readText().catch(() => 'unreadable')`); got != invite && got != "unreadable" {
		t.Errorf("the clipboard holds %.40q…", got)
	}
	a.Shoot("invite")

	bb.Navigate(bob.LoginURL())
	bb.TypeIn("textbox", "Your name", "Bob")
	bb.Click("button", "Continue")
	bb.WaitRole("textbox", "Your invite code")

	// Bob adds Alice by her invite, and sees the safety number to compare.
	bb.Click("link", "Add contact")
	bb.Paste("textbox", "Invite code", invite)
	bb.Click("button", "Add contact")
	bb.WaitText("Alice was added")
	shown := parleytest.Eval[string](bb, "read the safety number", `document.querySelector('.result .safety').textContent`)
	var contacts []struct {
		Name         string `json:"name"`
		SafetyNumber string `json:"safety_number"`
	}
	if err := json.Unmarshal([]byte(bob.CLI("contact", "list", "--json")), &contacts); err != nil || len(contacts) != 1 {
		t.Fatalf("bob's contacts: %v %+v", err, contacts)
	}
	if contacts[0].Name != "Alice" || shown != contacts[0].SafetyNumber || shown == "" {
		t.Errorf("safety number shown %q, bob's node has %+v", shown, contacts[0])
	}
	bb.Shoot("contact-added")

	// Bob writes first.
	bb.Click("link", "Write to Alice")
	bb.Send("Hello Alice! It's Bob.")
	bb.WaitMessage("Hello Alice! It's Bob.")

	// A stranger's message waits as a request, live, until Alice accepts.
	a.Click("link", "Message requests (1)")
	a.WaitText("Hello Alice! It's Bob.")
	bb.WaitRole("img", "delivered") // stored by Alice's node, not yet read
	if tick := bb.TickOf("Hello Alice! It's Bob."); tick != "delivered" {
		t.Errorf("bob's message shows %q before alice opened it, want delivered", tick)
	}
	a.Shoot("requests")
	a.Click("button", "Accept Bob")
	a.WaitMessage("Hello Alice! It's Bob.")
	bb.WaitJS(`bob's message ticked "read"`, `document.querySelector('.messages .msg.out [role=img]')?.getAttribute('aria-label') === 'read'`)
	bb.WaitRole("img", "read")

	a.Send("Hi Bob, welcome!")
	bb.WaitMessage("Hi Bob, welcome!")

	// A right-to-left override in a message stays inside its bubble and its
	// preview: both, and the names, are bidi-isolated (failure 8 of issue 12).
	a.Send("abc\u202edef")
	bb.WaitMessage("abc\u202edef")
	isolation := parleytest.Eval[string](bb, "the bidi isolation of user text", `(() => {
		const text = [...document.querySelectorAll('.messages .msg .text')].find(e => e.textContent === 'abc\u202edef');
		const els = {bubble: text, name: document.querySelector('.chat h2'),
			list_name: document.querySelector('.conv[aria-current=page] .conv-name'),
			preview: document.querySelector('.conv[aria-current=page] .conv-preview'), me: document.querySelector('.me')};
		return Object.entries(els).map(([k, e]) => k + ':' + (e ? getComputedStyle(e).unicodeBidi + '/' + e.getAttribute('dir') : 'missing')).join(' ');
	})()`)
	if want := "bubble:isolate/auto name:isolate/auto list_name:isolate/auto preview:isolate/auto me:isolate/auto"; isolation != want {
		t.Errorf("user text shown as %s, want %s", isolation, want)
	}
	a.Shoot("chat")
	bb.Shoot("chat")

	// Alice starts a group and invites Bob; Bob sees the invitation live.
	a.Click("link", "New group")
	a.TypeIn("textbox", "Group name", "Book club")
	a.Click("button", "Create group")
	a.WaitRole("combobox", "Contact to invite")
	a.Click("button", "Invite") // Bob, the only contact, is chosen
	a.WaitJS("Bob among the members", `[...document.querySelectorAll('.member-name')].some(e => e.textContent.startsWith('Bob'))`)
	a.WaitRole("button", "Remove Bob")
	a.Shoot("group-members")
	// New groups hide their history from new members; the admin's box
	// changes it for every member (issue 14, bug 8).
	historyIs := func(want string) func() bool {
		return func() bool {
			out, code := alice.Try("group", "list", "--json")
			return code == 0 && strings.Contains(out, `"history": "`+want+`"`)
		}
	}
	parleytest.Eventually(t, "the new group's history hidden", historyIs("hidden"))
	a.Click("checkbox", "New members can read earlier messages")
	parleytest.Eventually(t, "the history shared", historyIs("shared"))
	a.Click("checkbox", "New members can read earlier messages")
	parleytest.Eventually(t, "the history hidden again", historyIs("hidden"))

	bb.Click("link", "Book club from Alice")
	bb.WaitText("not what was written before you joined")
	bb.Shoot("group-invitation")
	bb.Click("button", "Accept invitation to Book club")
	bb.WaitRole("textbox", "Message")
	bb.Send("Hello, book club!")

	a.Click("link", "Book club")
	a.WaitMessage("Hello, book club!")
	a.Paste("textbox", "Message", "Welcome to the club, Bob.")
	a.Click("button", "Send")
	bb.WaitMessage("Welcome to the club, Bob.")
	a.Shoot("group-chat")
	bb.Shoot("group-chat")
	bb.ShootDark("group-chat")

	// The conversation list: unread counts and last messages.
	bb.Send("Who reads first?")
	a.WaitMessage("Who reads first?")
	bb.Click("link", "Alice")
	bb.Send("A message for the list")
	a.WaitJS("an unread count on Bob", `document.querySelector('a.conv[aria-label="Bob"] .badge')?.textContent === '1'`)
	a.Navigate(alice.GUIURL())
	a.WaitRole("link", "Bob")
	a.Shoot("conversations")
	a.ShootDark("conversations")

	// By keyboard, as a screen reader user moves: Enter on the link.
	a.Do("press Enter on the Network link", chromedp.Focus(`link "Network"`, parleytest.ByRole("link", "Network")), chromedp.KeyEvent("\r"))
	a.WaitText("Connected peers (")
	// Focus moves to the new screen's heading, for screen readers, and
	// draws no ring there (issue 14: it looked like a stray frame).
	if ring := parleytest.Eval[string](a, "the focused heading's outline", `(() => {
		const e = document.activeElement;
		return e.tagName + ' ' + getComputedStyle(e).outlineStyle;
	})()`); ring != "H2 none" {
		t.Errorf("after navigating, the focused element and its outline: %q, want \"H2 none\"", ring)
	}
	a.Shoot("network")
	a.Click("link", "Settings")
	a.WaitRole("textbox", "Display name")
	a.Shoot("settings")

	// Alice's node restarts under her open page: it says so, reconnects by
	// itself (same URL, same session) and catches up on what came meanwhile.
	a.Click("link", "Bob")
	a.WaitMessage("A message for the list")
	alice.Stop()
	a.WaitText("Not connected to your Parley node")
	a.Shoot("reconnecting")
	bob.CLI("send", "Alice", "Sent while your node was down")
	alice.Start()
	a.WaitMessage("Sent while your node was down")
	a.WaitJS("the banner gone", `document.querySelector('.conn-banner').hidden`)
	a.Send("Back again")
	bb.WaitMessage("Back again")

	// A long history loads as Alice scrolls up, without moving what she
	// reads.
	a.Click("link", "Book club")
	c, err := client.Open(bob.Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const many = 70
	for i := range many {
		if _, err := c.Send(t.Context(), "Alice", fmt.Sprintf("history %02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	a.WaitJS("the last one listed", fmt.Sprintf(`document.querySelector('a.conv[aria-label="Bob"] .conv-preview')?.textContent === 'history %02d'`, many-1))
	// Read elsewhere (nothing unread makes the first page longer), and the
	// page loaded afresh, as the CLI's reading sends the GUI no event.
	alice.CLI("messages", "Bob", "--limit", "0")
	a.Navigate(alice.GUIURL())
	a.Click("link", "Bob")
	a.WaitMessage(fmt.Sprintf("history %02d", many-1))
	a.WaitRole("button", "Load older messages")
	first := parleytest.Eval[string](a, "the oldest message shown", `document.querySelector('.messages .msg .text').textContent`)
	if first == "Hello Alice! It's Bob." {
		t.Fatal("the whole history loaded at once")
	}
	parleytest.Eval[bool](a, "scroll to the top", `(document.querySelector('.scroller').scrollTop = 0, true)`)
	a.WaitText("This is the start of your conversation with Bob.")
	a.WaitJS("the first message loaded", `document.querySelector('.messages .msg .text').textContent === "Hello Alice! It's Bob."`)
	a.WaitJS(fmt.Sprintf("%q still in view", first), fmt.Sprintf(`(() => {
		const el = [...document.querySelectorAll('.messages .msg .text')].find(e => e.textContent === %q);
		const s = document.querySelector('.scroller').getBoundingClientRect(), r = el.getBoundingClientRect();
		return r.top >= s.top - 1 && r.bottom <= s.bottom + 1;
	})()`, first))
	a.Shoot("history")

	// Alice changes her name in Settings: Bob's open page shows it, live,
	// on their conversation, in his list, and on her messages in the group
	// (issue 14, bug 7: it never reached him).
	bb.Click("link", "Book club")
	bb.WaitJS("alice's message signed Alice", `[...document.querySelectorAll('.messages .msg .sender')].some(e => e.textContent === 'Alice')`)
	a.Click("link", "Settings")
	a.WaitRole("textbox", "Display name")
	parleytest.Eval[bool](a, "clear the display name", `(document.querySelector('.stack input[name=name]').value = '', true)`)
	a.TypeIn("textbox", "Display name", "Alice Liddell")
	a.Click("button", "Save")
	a.WaitText("Saved")
	bb.WaitJS("alice's group message under her new name", `[...document.querySelectorAll('.messages .msg .sender')].some(e => e.textContent === 'Alice Liddell')`)
	bb.WaitRole("link", "Alice Liddell")
	bb.Click("link", "Alice Liddell")
	bb.WaitJS("the conversation titled with her new name", `document.querySelector('.chat h2')?.textContent === 'Alice Liddell'`)
	bb.Shoot("renamed-contact")
}

// Without a session the page refuses and says how to log in; a used link
// says so too. A page on another port of 127.0.0.1 never gets the session
// cookie (it belongs to the node's own NAME.localhost), and can neither
// read the API nor change anything through it. "Log out all browsers" in
// Settings logs every browser out.
func TestBrowserRefusesStrangers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes and a browser")
	}
	b := parleytest.StartBrowser(t)
	art := parleytest.NewArtifacts(t)
	alice := parleytest.StartProcess(t, "alice")
	tb := b.NewTab("stranger", art)

	tb.Navigate(alice.GUIURL())
	tb.WaitText("This browser is not logged in to Parley")
	tb.WaitText("parley open")
	tb.Shoot("logged-out")
	if n := parleytest.Eval[int](tb, "count scripts", `document.scripts.length`); n != 0 {
		t.Errorf("the refusal page runs %d scripts", n)
	}

	login := alice.LoginURL()
	tb.Navigate(login)
	tb.WaitRole("link", "Add contact") // logged in: the app
	tb.Navigate(login)
	tb.WaitText("This login link was already used or has expired")

	// A page on another port of 127.0.0.1, in the logged-in browser. It
	// never receives the session cookie, which it could replay.
	var mu sync.Mutex
	var received []string
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		for _, c := range r.Cookies() {
			received = append(received, c.Name)
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<!doctype html><title>elsewhere</title><p>another local site</p>")
	}))
	defer evil.Close()
	tb.Navigate(evil.URL)
	tb.WaitText("another local site")
	api := strings.TrimSuffix(alice.GUIURL(), "/")
	// A simple POST (no preflight) that would create a group.
	parleytest.Eval[bool](tb, "post from elsewhere", fmt.Sprintf(`fetch(%q, {method: 'POST', mode: 'no-cors', credentials: 'include',
		headers: {'Content-Type': 'text/plain'}, body: '{"name":"planted"}'}).then(() => true, () => true)`, api+"/api/v1/groups"))
	// Reading is refused too: no CORS, and the server refuses anyway.
	got := parleytest.Eval[string](tb, "read from elsewhere", fmt.Sprintf(`fetch(%q, {credentials: 'include'}).then(r => 'read: ' + r.status, e => 'refused')`, api+"/api/v1/self"))
	if got != "refused" {
		t.Errorf("another origin reading the API: %s", got)
	}
	ws := parleytest.Eval[string](tb, "open the event stream from elsewhere", fmt.Sprintf(`new Promise(done => {
		const ws = new WebSocket(%q);
		ws.onopen = () => { ws.close(); done('opened'); };
		ws.onclose = () => done('refused');
	})`, "ws"+strings.TrimPrefix(api, "http")+"/api/v1/events"))
	if ws != "refused" {
		t.Errorf("another origin opening the event stream: %s", ws)
	}
	if groups := strings.TrimSpace(alice.CLI("group", "list", "--json")); groups != "[]" {
		t.Errorf("a request from another origin changed the node: groups %s", groups)
	}
	mu.Lock()
	if len(received) != 0 {
		t.Errorf("the server on another port received cookies %v", received)
	}
	mu.Unlock()

	// "Log out all browsers" in Settings ends this session and another
	// browser's: both get the page that says how to log in.
	other := b.NewTab("other browser", art)
	other.Navigate(alice.LoginURL())
	other.WaitRole("link", "Add contact")
	tb.Navigate(alice.GUIURL() + "#/settings")
	tb.Click("button", "Log out all browsers")
	tb.WaitRole("heading", "This browser is not logged in to Parley") // after the page reloads
	other.Navigate(alice.GUIURL())
	other.WaitText("This browser is not logged in to Parley")
}

// Bob sends Alice a picture from the GUI's attach control: both watch it
// reach 100%, Alice sees it previewed and downloads it intact. Alice drops
// a file onto the conversation; over Bob's auto-accept size (set on his
// Settings screen), it waits for his Accept.
func TestBrowserSendsAFile(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes and a browser")
	}
	b := parleytest.StartBrowser(t)
	art := parleytest.NewArtifacts(t)
	alice, bob := parleytest.StartProcess(t, "Alice"), parleytest.StartProcess(t, "Bob")
	parleytest.Meet(alice, bob)
	a, bb := b.NewTab("alice", art), b.NewTab("bob", art)
	a.Navigate(alice.LoginURL())
	bb.Navigate(bob.LoginURL())

	picture := testPNG(t, 480, 320)
	path := filepath.Join(t.TempDir(), "sunset.png")
	if err := os.WriteFile(path, picture, 0o600); err != nil {
		t.Fatal(err)
	}
	a.Click("link", "Bob")
	a.WaitRole("textbox", "Message")
	bb.Click("link", "Alice")
	bb.WaitRole("button", "Attach file")
	// The button opens the system's file picker; a test hands the file to
	// the input behind it, as the picker would.
	bb.Do("attach sunset.png", chromedp.SetUploadFiles(chromedp.CSS("input.attach-input"), []string{path}))

	for _, tb := range []*parleytest.Tab{bb, a} {
		tb.WaitJS("the card of sunset.png complete", `(() => {
			const card = [...document.querySelectorAll('.messages .file-card')].find(c => c.querySelector('.file-name').textContent === 'sunset.png');
			const bar = card?.querySelector('progress.file-bar');
			return card?.dataset.state === 'complete' && bar.value === 100 && !bar.hidden &&
				card.querySelector('.file-status').textContent.startsWith('100% · ');
		})()`)
		tb.WaitRole("progressbar", "Transfer of sunset.png")
		tb.WaitRole("link", "Download sunset.png")
	}
	a.WaitJS("the preview drawn", `document.querySelector('.file-card .file-preview img')?.naturalWidth === 480`)
	a.WaitRole("img", "sunset.png")
	bb.WaitJS("bob's preview drawn", `document.querySelector('.file-card .file-preview img')?.naturalWidth === 480`)
	a.WaitJS("the history scrolled to the card", `(() => {
		const s = document.querySelector('.scroller');
		return s.scrollHeight - s.scrollTop - s.clientHeight < 48;
	})()`)
	a.Shoot("file-received")
	bb.Shoot("file-sent")
	a.ShootDark("file-received")

	// The download link gives the very bytes, as an attachment.
	got := parleytest.Eval[string](a, "fetch the download link", `(async () => {
		const link = document.querySelector('.file-card a[download]');
		const r = await fetch(link.href);
		const buf = new Uint8Array(await r.arrayBuffer());
		let bin = '';
		for (const b of buf) bin += String.fromCharCode(b);
		return r.headers.get('content-disposition') + '\n' + r.headers.get('content-type') + '\n' + btoa(bin);
	})()`)
	parts := strings.SplitN(got, "\n", 3)
	if len(parts) != 3 || !strings.HasPrefix(parts[0], "attachment; ") || !strings.Contains(parts[0], "filename*=UTF-8''sunset.png") ||
		parts[1] != "application/octet-stream" {
		t.Errorf("download headers: %q", parts[:min(2, len(parts))])
	}
	if len(parts) == 3 {
		if body, err := base64.StdEncoding.DecodeString(parts[2]); err != nil || !bytes.Equal(body, picture) {
			t.Errorf("the downloaded bytes differ from the picture sent (%d bytes, %v)", len(body), err)
		}
	}
	var files []parleytest.CLIFile
	if err := json.Unmarshal([]byte(alice.CLI("file", "list", "--json")), &files); err != nil || len(files) != 1 ||
		files[0].State != "complete" || parleytest.FileHash(t, files[0].Path) != parleytest.FileHash(t, path) {
		t.Fatalf("alice's files: %+v, %v", files, err)
	}

	// The offer is a message like any other: delivered, then read. (Shown
	// on loading: the node sends no status events for file messages yet.)
	bb.Navigate(bob.GUIURL())
	bb.Click("link", "Alice")
	bb.WaitJS("bob's file message ticked read", `document.querySelector('.messages .msg.out.file [role=img]')?.getAttribute('aria-label') === 'read'`)

	// Bob asks for every file: his Settings screen, 0 MB.
	bb.Click("link", "Settings")
	bb.WaitJS("the limit loaded", `document.querySelector('input[name=auto-accept]')?.value === '25'`)
	bb.Shoot("settings-files")
	parleytest.Eval[bool](bb, "clear the limit", `(document.querySelector('input[name=auto-accept]').value = '', true)`)
	bb.TypeIn("spinbutton", "Download files automatically up to (MB)", "0")
	bb.Click("button", "Save limit")
	bb.WaitText("Saved")
	var set struct {
		AutoAcceptBytes int64 `json:"auto_accept_bytes"`
	}
	if err := json.Unmarshal([]byte(bob.CLI("settings", "--json")), &set); err != nil || set.AutoAcceptBytes != -1 {
		t.Fatalf("bob's settings after saving 0: %+v, %v", set, err)
	}

	// Alice drops a file onto the conversation; Bob accepts it.
	a.WaitJS("drop notes.txt", `(() => {
		const dt = new DataTransfer();
		dt.items.add(new File(['notes from the trip\n'], 'notes.txt', { type: 'text/plain' }));
		const target = document.querySelector('.chat .scroller');
		for (const type of ['dragenter', 'dragover', 'drop']) {
			target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
		}
		return true;
	})()`)
	bb.Click("link", "Alice")
	bb.WaitRole("button", "Accept notes.txt")
	a.WaitJS("alice's card waiting", `[...document.querySelectorAll('.file-card')].some(c => c.dataset.state === 'offered' && c.textContent.includes('notes.txt'))`)
	a.WaitRole("button", "Cancel notes.txt")
	bb.Shoot("file-offered")
	bb.Click("button", "Accept notes.txt")
	bb.WaitRole("link", "Download notes.txt")
	a.WaitRole("link", "Download notes.txt")
	if n := parleytest.Eval[int](bb, "count previews", `document.querySelectorAll('.file-preview img').length`); n != 1 {
		t.Errorf("%d previews: a text file has none", n)
	}
}

// Alice turns the public DHT on in her Settings: the node joins it at once
// (her network panel says so), keeps it after a restart, and leaves it when
// she turns it off. The "public DHT" is a stand-in on loopback, named by
// --public-dht-bootstrap: nothing reaches beyond this machine.
func TestBrowserPublicDHTSetting(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real process and a browser")
	}
	b := parleytest.StartBrowser(t)
	art := parleytest.NewArtifacts(t)
	_, standIn := parleytest.PublicDHTStandIn(t)
	alice := parleytest.StartProcess(t, "Alice", "--public-dht-bootstrap", standIn)
	a := b.NewTab("alice", art)
	a.Navigate(alice.LoginURL())

	const box = "Use the public IPFS network to find contacts"
	a.Click("link", "Settings")
	a.WaitJS("the box loaded, off", `(() => {
		const c = document.querySelector('input[name=public-dht]');
		return c && !c.disabled && !c.checked;
	})()`)
	a.Click("checkbox", box)
	a.WaitText("Saved: on")
	a.Shoot("settings-public-dht")
	if !publicDHTOf(t, alice) {
		t.Fatal("the settings say the public DHT is off after turning it on")
	}
	parleytest.Eventually(t, "the stand-in in alice's public routing table", func() bool {
		var st struct {
			PublicDHT      bool `json:"public_dht"`
			PublicDHTPeers int  `json:"public_dht_peers"`
		}
		if err := json.Unmarshal([]byte(alice.CLI("status", "--json")), &st); err != nil {
			t.Fatal(err)
		}
		return st.PublicDHT && st.PublicDHTPeers > 0
	})
	a.Click("link", "Network")
	a.WaitText("Public IPFS DHT")
	a.WaitJS("the panel shows it on", `document.body.innerText.includes('on, 1 peer in the routing table')`)
	a.Shoot("network-public-dht")

	alice.Stop()
	alice.Start()
	if !publicDHTOf(t, alice) {
		t.Fatal("the public DHT is off after a restart")
	}
	// A fresh page: the open one would redraw its screen on reconnecting,
	// racing the click below.
	a.Navigate("about:blank")
	a.Navigate(alice.GUIURL() + "#/settings")
	a.WaitJS("the box loaded, on", `(() => {
		const c = document.querySelector('input[name=public-dht]');
		return c && !c.disabled && c.checked;
	})()`)
	a.Click("checkbox", box)
	a.WaitText("Saved: off")
	if publicDHTOf(t, alice) {
		t.Fatal("the settings say the public DHT is on after turning it off")
	}
}

// publicDHTOf is the public DHT setting, as GET /api/v1/settings has it.
func publicDHTOf(t *testing.T, p *parleytest.Process) bool {
	t.Helper()
	var set struct {
		PublicDHT *bool `json:"public_dht"`
	}
	if err := json.Unmarshal([]byte(p.CLI("settings", "--json")), &set); err != nil || set.PublicDHT == nil {
		t.Fatalf("settings --json: %+v, %v", set, err)
	}
	return *set.PublicDHT
}

// testPNG is a w×h picture, a gradient with a sun.
func testPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{R: uint8(255 - y*120/h), G: uint8(90 + y*60/h), B: uint8(60 + y*180/h), A: 255}
			if dx, dy := x-w/2, y-h*2/3; dx*dx+dy*dy < (h/5)*(h/5) {
				c = color.RGBA{R: 255, G: 214, B: 90, A: 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A message that arrives while a conversation is loading stays on screen:
// the page the node answered with was made before it, and used to replace
// what had arrived live (seen as a flake of TestBrowserSendsAFile). Bob's
// fetch of the page is held until alice's message has been shown.
func TestBrowserMessageArrivingWhileChatLoads(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes and a browser")
	}
	b := parleytest.StartBrowser(t)
	art := parleytest.NewArtifacts(t)
	alice, bob := parleytest.StartProcess(t, "Alice"), parleytest.StartProcess(t, "Bob")
	parleytest.Meet(alice, bob)
	bb := b.NewTab("bob", art)
	bb.Navigate(bob.LoginURL())
	bb.WaitRole("link", "Alice")

	// Answers to message listings wait, once they are in, until released.
	parleytest.Eval[bool](bb, "hold message pages", `(() => {
		const real = window.fetch;
		window.heldPages = [];
		window.fetch = async (input, init) => {
			const resp = await real(input, init);
			if (String(input).includes('/api/v1/messages?') && window.holdPages) {
				await new Promise((release) => window.heldPages.push(release));
			}
			return resp;
		};
		window.holdPages = true;
		return true;
	})()`)
	bb.Click("link", "Alice")
	bb.WaitJS("the first page fetched and held", `window.heldPages.length === 1`)
	const late = "written while you were loading"
	alice.CLI("send", "Bob", late)
	bb.WaitMessage(late)
	// Mark what is on screen now: the page's answer redraws the list.
	parleytest.Eval[bool](bb, "release the page", `(() => {
		document.querySelector('.messages .msg').dataset.probe = 'before';
		window.holdPages = false;
		window.heldPages.forEach((release) => release());
		return true;
	})()`)
	bb.WaitJS("the page drawn", `!document.querySelector('[data-probe]')`)
	if !parleytest.Eval[bool](bb, "find the late message", fmt.Sprintf(
		`[...document.querySelectorAll('.messages .msg .text')].some(e => e.textContent === %q)`, late)) {
		bb.Shoot("late-message-lost")
		t.Fatalf("the message that arrived while the conversation loaded is gone from the screen")
	}
}
