package main

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/libp2p/go-libp2p/core/peer"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/internal/parleytest"
)

// writeY4M writes a short video, the format Chromium's fake camera plays
// (--use-file-for-fake-video-capture): a YUV4MPEG2 header, then frames of
// 4:2:0 planes (Y full size, U and V a quarter each). Each frame is the
// grey image y (w×h, row by row), without colour.
func writeY4M(t *testing.T, path string, w, h int, y []byte, frames int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriter(f)
	fmt.Fprintf(bw, "YUV4MPEG2 W%d H%d F10:1 Ip A1:1 C420jpeg\n", w, h)
	chroma := []byte(strings.Repeat("\x80", (w/2)*(h/2))) // 128: no colour
	for range frames {
		bw.WriteString("FRAME\n")
		bw.Write(y)
		bw.Write(chroma)
		bw.Write(chroma)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// safetyQRFrame is what a camera sees of a screen showing the
// safety-number QR code of a and b as Parley draws it (the digits, QR
// level M, 4 modules of white around), 8 pixels a module, in a grey
// 640×480 frame.
func safetyQRFrame(t *testing.T, a peer.ID, b string) *image.Gray {
	t.Helper()
	pb, err := peer.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	q, err := qrcode.New(strings.ReplaceAll(identity.SafetyNumber(a, pb), " ", ""), qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	q.DisableBorder = true
	bits := q.Bitmap()
	const w, h, scale, quiet = 640, 480, 8, 4
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 0x60 // the grey around the phone's screen
	}
	side := (len(bits) + 2*quiet) * scale
	x0, y0 := (w-side)/2, (h-side)/2
	for dy := range side {
		for dx := range side {
			mx, my := dx/scale-quiet, dy/scale-quiet
			v := byte(0xeb) // white, as video levels have it
			if my >= 0 && my < len(bits) && mx >= 0 && mx < len(bits) && bits[my][mx] {
				v = 0x10 // black
			}
			img.Pix[(y0+dy)*img.Stride+x0+dx] = v
		}
	}
	return img
}

// safetyQRVideo writes safetyQRFrame as a fake camera's video; it returns
// the file's path.
func safetyQRVideo(t *testing.T, a peer.ID, b string) string {
	t.Helper()
	img := safetyQRFrame(t, a, b)
	path := filepath.Join(t.TempDir(), "camera.y4m")
	writeY4M(t, path, img.Rect.Dx(), img.Rect.Dy(), img.Pix, 3)
	return path
}

// safetyQRPhoto writes safetyQRFrame as a PNG photo; it returns the
// file's path.
func safetyQRPhoto(t *testing.T, a peer.ID, b string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, safetyQRFrame(t, a, b)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "their-code.png")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// In the GUI, "Scan their code" opens the camera (Chromium's fake one,
// playing a video of a screen that shows a QR code); the node decodes the
// frames the page sends. A code with another contact's safety number says
// the numbers do not match and verifies no one; the contact's own code
// marks them verified.
func TestBrowserScanSafetyQR(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real process and a browser")
	}
	art := parleytest.NewArtifacts(t)
	alice := parleytest.StartProcess(t, "alice")
	vera, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	walt, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id   *identity.Identity
		name string
	}{{vera, "Vera"}, {walt, "Walt"}} {
		card, err := c.id.SignCard(identity.Card{PeerID: c.id.PeerID, Name: c.name})
		if err != nil {
			t.Fatal(err)
		}
		alice.CLI("contact", "add", identity.EncodeInvite(card))
	}
	verified := func(name string) bool {
		t.Helper()
		for line := range strings.Lines(alice.CLI("contact", "list")) {
			if strings.HasPrefix(line, name) {
				return strings.HasSuffix(strings.TrimSpace(line), "yes")
			}
		}
		t.Fatalf("%s not in alice's contact list", name)
		return false
	}
	veraVerified := func() bool { t.Helper(); return verified("Vera") }
	// scan opens a contact's details in a browser whose camera films
	// video, and clicks "Scan their code".
	scan := func(t *testing.T, contact peer.ID, video string) *parleytest.Tab {
		b := parleytest.StartBrowser(t,
			chromedp.Flag("use-fake-ui-for-media-stream", true), // grant the camera without asking
			chromedp.Flag("use-fake-device-for-media-stream", true),
			chromedp.Flag("use-file-for-fake-video-capture", video))
		a := b.NewTab("alice", art)
		a.Navigate(alice.LoginURL())
		a.Navigate(alice.GUIURL() + "#/contact/" + contact.String())
		a.Click("button", "Scan their code")
		return a
	}

	t.Run("no code in sight", func(t *testing.T) {
		// Chromium's own fake camera films a test pattern, no QR code:
		// the page keeps scanning until the user stops it.
		b := parleytest.StartBrowser(t,
			chromedp.Flag("use-fake-ui-for-media-stream", true),
			chromedp.Flag("use-fake-device-for-media-stream", true))
		a := b.NewTab("alice", art)
		a.Navigate(alice.LoginURL())
		a.Navigate(alice.GUIURL() + "#/contact/" + vera.PeerID.String())
		a.Click("button", "Scan their code")
		a.WaitJS("the preview playing", `[...document.querySelectorAll('video')].some(v => v.checkVisibility() && v.srcObject && v.currentTime > 0)`)
		a.WaitText("Scanning… hold the code Vera's Parley shows for you steady in the frame.")
		a.Shoot("scan-scanning")
		a.Click("button", "Stop scanning")
		a.WaitJS("the camera off", `[...document.querySelectorAll('video')].every(v => !v.checkVisibility() && !v.srcObject)`)
		a.WaitRole("button", "Scan their code")
		if veraVerified() {
			t.Fatal("scanning no code marked Vera verified")
		}
	})
	t.Run("another contact's code", func(t *testing.T) {
		// Walt's code, as Walt's Parley shows it for alice.
		a := scan(t, vera.PeerID, safetyQRVideo(t, walt.PeerID, alice.PeerID()))
		a.WaitJS("the mismatch announced", `[...document.querySelectorAll('[role=status][aria-live=polite]')].some(e => e.textContent.startsWith('The safety numbers do not match: Vera is not marked verified.'))`)
		a.WaitRole("button", "Mark as verified")
		a.WaitRole("button", "Scan their code") // to try again
		a.Shoot("scan-mismatch")
		if veraVerified() {
			t.Fatal("Walt's code marked Vera verified")
		}
	})
	t.Run("no camera: a photo", func(t *testing.T) {
		// A browser with no camera (or none it may use): the page says so
		// and takes a photo of the code instead.
		b := parleytest.StartBrowser(t, chromedp.Flag("use-fake-ui-for-media-stream", true))
		a := b.NewTab("alice", art)
		a.Navigate(alice.LoginURL())
		a.Navigate(alice.GUIURL() + "#/contact/" + walt.PeerID.String())
		a.Click("button", "Scan their code")
		a.WaitJS("no camera announced", `[...document.querySelectorAll('[role=status][aria-live=polite]')].some(e => e.textContent.endsWith("Take or choose a photo of the code Walt's Parley shows for you instead."))`)
		a.Shoot("scan-no-camera")
		a.Do("pick a photo of Walt's code", chromedp.SetUploadFiles(chromedp.CSS(`input[type=file]`),
			[]string{safetyQRPhoto(t, walt.PeerID, alice.PeerID())}))
		a.WaitText("The safety numbers match: Walt is verified.")
		a.WaitText("Verified ✓")
		if !verified("Walt") {
			t.Fatal("a photo of Walt's own code left him unverified")
		}
	})
	t.Run("her own code", func(t *testing.T) {
		// Vera's code, as Vera's Parley shows it for alice: her key first.
		a := scan(t, vera.PeerID, safetyQRVideo(t, vera.PeerID, alice.PeerID()))
		a.WaitJS("the match announced", `[...document.querySelectorAll('[role=status][aria-live=polite]')].some(e => e.textContent === 'The safety numbers match: Vera is verified.')`)
		a.WaitText("Verified ✓")
		a.WaitJS("the camera off", `[...document.querySelectorAll('video')].every(v => !v.checkVisibility() && !v.srcObject)`)
		a.WaitJS("only the scan button left", `[...document.querySelectorAll('.scanner button')].filter(b => b.checkVisibility()).map(b => b.textContent).join() === 'Scan their code'`)
		a.Shoot("scan-match")
		if !veraVerified() {
			t.Fatal("Vera's own code left her unverified")
		}
	})
}
