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
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-im/parley/gui/client"
	"github.com/parley-im/parley/internal/dhttest"
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
	b := startBrowser(t)
	art := newArtifacts(t)
	// Never named: --name "" keeps the node's default name.
	alice, bob := startProc(t, "alice", "--name", ""), startProc(t, "bob", "--name", "")
	a, bb := b.newTab("alice", art), b.newTab("bob", art)

	// First run: choose a name.
	a.navigate(loginURL(alice))
	a.waitRole("textbox", "Your name")
	a.shoot("first-run")
	a.typeIn("textbox", "Your name", "Alice")
	a.click("button", "Continue")

	// Her invite code, as text (copied with the button) and as a QR code.
	a.waitRole("textbox", "Your invite code")
	a.waitJS("the QR code drawn", `document.querySelector('.qr img')?.naturalWidth > 0`)
	a.click("button", "Copy invite code")
	a.waitRole("status", "")
	a.waitText("Copied")
	invite := a.value("textbox", "Your invite code")
	if invite != alice.invite() || !strings.HasPrefix(invite, "parley:") {
		t.Fatalf("the invite shown is not alice's: %.40q…", invite)
	}
	if got := eval[string](a, "read the clipboard", `navigator.clipboard.readText().catch(() => 'unreadable')`); got != invite && got != "unreadable" {
		t.Errorf("the clipboard holds %.40q…", got)
	}
	a.shoot("invite")

	bb.navigate(loginURL(bob))
	bb.typeIn("textbox", "Your name", "Bob")
	bb.click("button", "Continue")
	bb.waitRole("textbox", "Your invite code")

	// Bob adds Alice by her invite, and sees the safety number to compare.
	bb.click("link", "Add contact")
	bb.paste("textbox", "Invite code", invite)
	bb.click("button", "Add contact")
	bb.waitText("Alice was added")
	shown := eval[string](bb, "read the safety number", `document.querySelector('.result .safety').textContent`)
	var contacts []struct {
		Name         string `json:"name"`
		SafetyNumber string `json:"safety_number"`
	}
	if err := json.Unmarshal([]byte(bob.cli("contact", "list", "--json")), &contacts); err != nil || len(contacts) != 1 {
		t.Fatalf("bob's contacts: %v %+v", err, contacts)
	}
	if contacts[0].Name != "Alice" || shown != contacts[0].SafetyNumber || shown == "" {
		t.Errorf("safety number shown %q, bob's node has %+v", shown, contacts[0])
	}
	bb.shoot("contact-added")

	// Bob writes first.
	bb.click("link", "Write to Alice")
	bb.send("Hello Alice! It's Bob.")
	bb.waitMessage("Hello Alice! It's Bob.")

	// A stranger's message waits as a request, live, until Alice accepts.
	a.click("link", "Message requests (1)")
	a.waitText("Hello Alice! It's Bob.")
	bb.waitRole("img", "delivered") // stored by Alice's node, not yet read
	if tick := bb.tickOf("Hello Alice! It's Bob."); tick != "delivered" {
		t.Errorf("bob's message shows %q before alice opened it, want delivered", tick)
	}
	a.shoot("requests")
	a.click("button", "Accept Bob")
	a.waitMessage("Hello Alice! It's Bob.")
	bb.waitJS(`bob's message ticked "read"`, `document.querySelector('.messages .msg.out [role=img]')?.getAttribute('aria-label') === 'read'`)
	bb.waitRole("img", "read")

	a.send("Hi Bob, welcome!")
	bb.waitMessage("Hi Bob, welcome!")
	a.shoot("chat")
	bb.shoot("chat")

	// Alice starts a group and invites Bob; Bob sees the invitation live.
	a.click("link", "New group")
	a.typeIn("textbox", "Group name", "Book club")
	a.click("button", "Create group")
	a.waitRole("combobox", "Contact to invite")
	a.click("button", "Invite") // Bob, the only contact, is chosen
	a.waitJS("Bob among the members", `[...document.querySelectorAll('.member-name')].some(e => e.textContent.startsWith('Bob'))`)
	a.waitRole("button", "Remove Bob")
	a.shoot("group-members")

	bb.click("link", "Book club from Alice")
	bb.shoot("group-invitation")
	bb.click("button", "Accept invitation to Book club")
	bb.waitRole("textbox", "Message")
	bb.send("Hello, book club!")

	a.click("link", "Book club")
	a.waitMessage("Hello, book club!")
	a.paste("textbox", "Message", "Welcome to the club, Bob.")
	a.click("button", "Send")
	bb.waitMessage("Welcome to the club, Bob.")
	a.shoot("group-chat")
	bb.shoot("group-chat")
	bb.shootDark("group-chat")

	// The conversation list: unread counts and last messages.
	bb.send("Who reads first?")
	a.waitMessage("Who reads first?")
	bb.click("link", "Alice")
	bb.send("A message for the list")
	a.waitJS("an unread count on Bob", `document.querySelector('a.conv[aria-label="Bob"] .badge')?.textContent === '1'`)
	a.navigate(alice.guiURL(t))
	a.waitRole("link", "Bob")
	a.shoot("conversations")
	a.shootDark("conversations")

	a.click("link", "Network")
	a.waitText("Connected peers (")
	a.shoot("network")
	a.click("link", "Settings")
	a.waitRole("textbox", "Display name")
	a.shoot("settings")

	// Alice's node restarts under her open page: it says so, reconnects by
	// itself (same URL, same session) and catches up on what came meanwhile.
	a.click("link", "Bob")
	a.waitMessage("A message for the list")
	alice.stop()
	a.waitText("Not connected to your Parley node")
	a.shoot("reconnecting")
	bob.cli("send", "Alice", "Sent while your node was down")
	alice.start()
	a.waitMessage("Sent while your node was down")
	a.waitJS("the banner gone", `document.querySelector('.conn-banner').hidden`)
	a.send("Back again")
	bb.waitMessage("Back again")

	// A long history loads as Alice scrolls up, without moving what she
	// reads.
	a.click("link", "Book club")
	c, err := client.Open(bob.dir)
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
	a.waitJS("the last one listed", fmt.Sprintf(`document.querySelector('a.conv[aria-label="Bob"] .conv-preview')?.textContent === 'history %02d'`, many-1))
	// Read elsewhere (nothing unread makes the first page longer), and the
	// page loaded afresh, as the CLI's reading sends the GUI no event.
	alice.cli("messages", "Bob", "--limit", "0")
	a.navigate(alice.guiURL(t))
	a.click("link", "Bob")
	a.waitMessage(fmt.Sprintf("history %02d", many-1))
	a.waitRole("button", "Load older messages")
	first := eval[string](a, "the oldest message shown", `document.querySelector('.messages .msg .text').textContent`)
	if first == "Hello Alice! It's Bob." {
		t.Fatal("the whole history loaded at once")
	}
	eval[bool](a, "scroll to the top", `(document.querySelector('.scroller').scrollTop = 0, true)`)
	a.waitText("This is the start of your conversation with Bob.")
	a.waitJS("the first message loaded", `document.querySelector('.messages .msg .text').textContent === "Hello Alice! It's Bob."`)
	a.waitJS(fmt.Sprintf("%q still in view", first), fmt.Sprintf(`(() => {
		const el = [...document.querySelectorAll('.messages .msg .text')].find(e => e.textContent === %q);
		const s = document.querySelector('.scroller').getBoundingClientRect(), r = el.getBoundingClientRect();
		return r.top >= s.top - 1 && r.bottom <= s.bottom + 1;
	})()`, first))
	a.shoot("history")
}

// Without a session the page refuses and says how to log in; a used link
// says so too. A page of another local origin (another port of 127.0.0.1 is
// the same site, so the browser sends the SameSite=Strict cookie along)
// can neither read the API nor change anything through it.
func TestBrowserRefusesStrangers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes and a browser")
	}
	b := startBrowser(t)
	art := newArtifacts(t)
	alice := startProc(t, "alice")
	tb := b.newTab("stranger", art)

	tb.navigate(alice.guiURL(t))
	tb.waitText("This browser is not logged in to Parley")
	tb.waitText("parley open")
	tb.shoot("logged-out")
	if n := eval[int](tb, "count scripts", `document.scripts.length`); n != 0 {
		t.Errorf("the refusal page runs %d scripts", n)
	}

	login := loginURL(alice)
	tb.navigate(login)
	tb.waitRole("link", "Add contact") // logged in: the app
	tb.navigate(login)
	tb.waitText("This login link was already used or has expired")

	// A page on another port of 127.0.0.1, in the logged-in browser.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<!doctype html><title>elsewhere</title><p>another local site</p>")
	}))
	defer evil.Close()
	tb.navigate(evil.URL)
	tb.waitText("another local site")
	api := strings.TrimSuffix(alice.guiURL(t), "/")
	// A simple POST (no preflight) that would create a group.
	eval[bool](tb, "post from elsewhere", fmt.Sprintf(`fetch(%q, {method: 'POST', mode: 'no-cors', credentials: 'include',
		headers: {'Content-Type': 'text/plain'}, body: '{"name":"planted"}'}).then(() => true, () => true)`, api+"/api/v1/groups"))
	// Reading is refused too: no CORS, and the server refuses anyway.
	got := eval[string](tb, "read from elsewhere", fmt.Sprintf(`fetch(%q, {credentials: 'include'}).then(r => 'read: ' + r.status, e => 'refused')`, api+"/api/v1/self"))
	if got != "refused" {
		t.Errorf("another origin reading the API: %s", got)
	}
	ws := eval[string](tb, "open the event stream from elsewhere", fmt.Sprintf(`new Promise(done => {
		const ws = new WebSocket(%q);
		ws.onopen = () => { ws.close(); done('opened'); };
		ws.onclose = () => done('refused');
	})`, "ws"+strings.TrimPrefix(api, "http")+"/api/v1/events"))
	if ws != "refused" {
		t.Errorf("another origin opening the event stream: %s", ws)
	}
	if groups := strings.TrimSpace(alice.cli("group", "list", "--json")); groups != "[]" {
		t.Errorf("a request from another origin changed the node: groups %s", groups)
	}
}

// Bob sends Alice a picture from the GUI's attach control: both watch it
// reach 100%, Alice sees it previewed and downloads it intact. Alice drops
// a file onto the conversation; over Bob's auto-accept size (set on his
// Settings screen), it waits for his Accept.
func TestBrowserSendsAFile(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes and a browser")
	}
	b := startBrowser(t)
	art := newArtifacts(t)
	alice, bob := startProc(t, "Alice"), startProc(t, "Bob")
	alice.cli("contact", "add", bob.invite(), "--name", "Bob")
	bob.cli("contact", "add", alice.invite(), "--name", "Alice")
	a, bb := b.newTab("alice", art), b.newTab("bob", art)
	a.navigate(loginURL(alice))
	bb.navigate(loginURL(bob))

	picture := testPNG(t, 480, 320)
	path := filepath.Join(t.TempDir(), "sunset.png")
	if err := os.WriteFile(path, picture, 0o600); err != nil {
		t.Fatal(err)
	}
	a.click("link", "Bob")
	a.waitRole("textbox", "Message")
	bb.click("link", "Alice")
	bb.waitRole("button", "Attach file")
	// The button opens the system's file picker; a test hands the file to
	// the input behind it, as the picker would.
	bb.do("attach sunset.png", chromedp.SetUploadFiles(chromedp.CSS("input.attach-input"), []string{path}))

	for _, tb := range []*tab{bb, a} {
		tb.waitJS("the card of sunset.png complete", `(() => {
			const card = [...document.querySelectorAll('.messages .file-card')].find(c => c.querySelector('.file-name').textContent === 'sunset.png');
			const bar = card?.querySelector('progress.file-bar');
			return card?.dataset.state === 'complete' && bar.value === 100 && !bar.hidden &&
				card.querySelector('.file-status').textContent.startsWith('100% · ');
		})()`)
		tb.waitRole("progressbar", "Transfer of sunset.png")
		tb.waitRole("link", "Download sunset.png")
	}
	a.waitJS("the preview drawn", `document.querySelector('.file-card .file-preview img')?.naturalWidth === 480`)
	a.waitRole("img", "sunset.png")
	bb.waitJS("bob's preview drawn", `document.querySelector('.file-card .file-preview img')?.naturalWidth === 480`)
	a.waitJS("the history scrolled to the card", `(() => {
		const s = document.querySelector('.scroller');
		return s.scrollHeight - s.scrollTop - s.clientHeight < 48;
	})()`)
	a.shoot("file-received")
	bb.shoot("file-sent")
	a.shootDark("file-received")

	// The download link gives the very bytes, as an attachment.
	got := eval[string](a, "fetch the download link", `(async () => {
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
	var files []jsonFile
	if err := json.Unmarshal([]byte(alice.cli("file", "list", "--json")), &files); err != nil || len(files) != 1 ||
		files[0].State != "complete" || hashOf(t, files[0].Path) != hashOf(t, path) {
		t.Fatalf("alice's files: %+v, %v", files, err)
	}

	// The offer is a message like any other: delivered, then read. (Shown
	// on loading: the node sends no status events for file messages yet.)
	bb.navigate(bob.guiURL(t))
	bb.click("link", "Alice")
	bb.waitJS("bob's file message ticked read", `document.querySelector('.messages .msg.out.file [role=img]')?.getAttribute('aria-label') === 'read'`)

	// Bob asks for every file: his Settings screen, 0 MB.
	bb.click("link", "Settings")
	bb.waitJS("the limit loaded", `document.querySelector('input[name=auto-accept]')?.value === '25'`)
	bb.shoot("settings-files")
	eval[bool](bb, "clear the limit", `(document.querySelector('input[name=auto-accept]').value = '', true)`)
	bb.typeIn("spinbutton", "Download files automatically up to (MB)", "0")
	bb.click("button", "Save limit")
	bb.waitText("Saved")
	var set struct {
		AutoAcceptBytes int64 `json:"auto_accept_bytes"`
	}
	if err := json.Unmarshal([]byte(bob.cli("settings", "--json")), &set); err != nil || set.AutoAcceptBytes != -1 {
		t.Fatalf("bob's settings after saving 0: %+v, %v", set, err)
	}

	// Alice drops a file onto the conversation; Bob accepts it.
	a.waitJS("drop notes.txt", `(() => {
		const dt = new DataTransfer();
		dt.items.add(new File(['notes from the trip\n'], 'notes.txt', { type: 'text/plain' }));
		const target = document.querySelector('.chat .scroller');
		for (const type of ['dragenter', 'dragover', 'drop']) {
			target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
		}
		return true;
	})()`)
	bb.click("link", "Alice")
	bb.waitRole("button", "Accept notes.txt")
	a.waitJS("alice's card waiting", `[...document.querySelectorAll('.file-card')].some(c => c.dataset.state === 'offered' && c.textContent.includes('notes.txt'))`)
	a.waitRole("button", "Cancel notes.txt")
	bb.shoot("file-offered")
	bb.click("button", "Accept notes.txt")
	bb.waitRole("link", "Download notes.txt")
	a.waitRole("link", "Download notes.txt")
	if n := eval[int](bb, "count previews", `document.querySelectorAll('.file-preview img').length`); n != 1 {
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
	b := startBrowser(t)
	art := newArtifacts(t)
	_, standIn := dhttest.PublicStandIn(t)
	alice := startProc(t, "Alice", "--public-dht-bootstrap", standIn)
	a := b.newTab("alice", art)
	a.navigate(loginURL(alice))

	const box = "Use the public IPFS network to find contacts"
	a.click("link", "Settings")
	a.waitJS("the box loaded, off", `(() => {
		const c = document.querySelector('input[name=public-dht]');
		return c && !c.disabled && !c.checked;
	})()`)
	a.click("checkbox", box)
	a.waitText("Saved: on")
	a.shoot("settings-public-dht")
	if !publicDHTOf(t, alice) {
		t.Fatal("the settings say the public DHT is off after turning it on")
	}
	waitUntil(t, "the stand-in in alice's public routing table", func() bool {
		var st struct {
			PublicDHT      bool `json:"public_dht"`
			PublicDHTPeers int  `json:"public_dht_peers"`
		}
		if err := json.Unmarshal([]byte(alice.cli("status", "--json")), &st); err != nil {
			t.Fatal(err)
		}
		return st.PublicDHT && st.PublicDHTPeers > 0
	})
	a.click("link", "Network")
	a.waitText("Public IPFS DHT")
	a.waitJS("the panel shows it on", `document.body.innerText.includes('on, 1 peer in the routing table')`)
	a.shoot("network-public-dht")

	alice.stop()
	alice.start()
	if !publicDHTOf(t, alice) {
		t.Fatal("the public DHT is off after a restart")
	}
	// A fresh page: the open one would redraw its screen on reconnecting,
	// racing the click below.
	a.navigate("about:blank")
	a.navigate(alice.guiURL(t) + "#/settings")
	a.waitJS("the box loaded, on", `(() => {
		const c = document.querySelector('input[name=public-dht]');
		return c && !c.disabled && c.checked;
	})()`)
	a.click("checkbox", box)
	a.waitText("Saved: off")
	if publicDHTOf(t, alice) {
		t.Fatal("the settings say the public DHT is on after turning it off")
	}
}

// publicDHTOf is the public DHT setting, as GET /api/v1/settings has it.
func publicDHTOf(t *testing.T, p *proc) bool {
	t.Helper()
	var set struct {
		PublicDHT *bool `json:"public_dht"`
	}
	if err := json.Unmarshal([]byte(p.cli("settings", "--json")), &set); err != nil || set.PublicDHT == nil {
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
