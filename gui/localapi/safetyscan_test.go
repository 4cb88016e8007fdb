package localapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/parley-im/parley/gui/apitype"
	"github.com/parley-im/parley/gui/localapi"
	"github.com/parley-im/parley/identity"
)

// safetyQRDigits is what a safety-number QR code holds: the number's
// digits, as the safety.svg route draws them.
func safetyQRDigits(sn string) string { return strings.ReplaceAll(sn, " ", "") }

// cameraFrame draws text's QR code (as the API draws it, 3 pixels a
// module) off-centre in a grey 640×480 frame, as a camera held before a
// screen sees it, and encodes it as the GUI posts frames: JPEG.
func cameraFrame(t testing.TB, text string) []byte {
	t.Helper()
	qr, err := localapi.QRImage(text, 3)
	if err != nil {
		t.Fatal(err)
	}
	frame := image.NewGray(image.Rect(0, 0, 640, 480))
	draw.Draw(frame, frame.Bounds(), image.NewUniform(color.Gray{Y: 0x70}), image.Point{}, draw.Src)
	at := image.Pt(200, 90)
	draw.Draw(frame, qr.Bounds().Add(at), qr, image.Point{}, draw.Src)
	var b bytes.Buffer
	if err := jpeg.Encode(&b, frame, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// qrPNG is text's QR code as a PNG picture, 4 pixels a module: a
// screenshot, say, picked as a file.
func qrPNG(t testing.TB, text string) []byte {
	t.Helper()
	qr, err := localapi.QRImage(text, 4)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, qr); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// jpegClaiming is a small JPEG whose header says it is w×h pixels: a
// few bytes that would decode to a huge image.
func jpegClaiming(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	sof := bytes.Index(data, []byte{0xff, 0xc0}) // baseline frame header: length, precision, height, width
	if sof < 0 {
		t.Fatal("no SOF0 marker in the JPEG")
	}
	data[sof+5], data[sof+6] = byte(h>>8), byte(h)
	data[sof+7], data[sof+8] = byte(w>>8), byte(w)
	return data
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestSafetyScan: an image of the contact's own safety-number QR code
// (theirs: their key first where it sorts first) marks them verified; the
// code of another contact, or of the same contact's old key, is "mismatch";
// a QR code of something else, an image with no code, are told apart; bad
// images (not an image, damaged, too many pixels, too many bytes) get a
// clear 4xx. None of these changes the contact.
func TestSafetyScan(t *testing.T) {
	h := start(t)
	gen := func() *identity.Identity {
		id, err := identity.Generate()
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	me, alice, aliceOld, walt := gen(), gen(), gen(), gen()
	// The fake's alice has a real safety number with us; her own QR code
	// is the number as her node computes it, her key first.
	h.node.setSafetyNumber(aliceID, identity.SafetyNumber(me.PeerID, alice.PeerID))
	aliceCode := safetyQRDigits(identity.SafetyNumber(alice.PeerID, me.PeerID))

	scan := func(contact string, img []byte) (int, apitype.SafetyScanView, string) {
		t.Helper()
		resp, body := h.do(http.MethodPost, "/api/v1/contacts/"+contact+"/safety/scan", string(img),
			func(r *http.Request) { r.Header.Set("Content-Type", "image/jpeg") })
		var v apitype.SafetyScanView
		if resp.StatusCode == http.StatusOK {
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatalf("scan answer: %v: %s", err, body)
			}
		}
		return resp.StatusCode, v, string(body)
	}
	unchanged := func(step string) {
		t.Helper()
		if c, _ := h.node.contact(aliceID); c.Verified {
			t.Fatalf("%s: alice is marked verified", step)
		}
	}

	blank := image.NewGray(image.Rect(0, 0, 320, 240))
	draw.Draw(blank, blank.Bounds(), image.White, image.Point{}, draw.Src)
	frame := cameraFrame(t, aliceCode)
	for _, tc := range []struct {
		name    string
		img     []byte
		status  int
		result  string
		message string
	}{
		{"another contact's code", cameraFrame(t, safetyQRDigits(identity.SafetyNumber(walt.PeerID, me.PeerID))), 200, apitype.ScanMismatch, "do not match"},
		{"her old key's code", qrPNG(t, safetyQRDigits(identity.SafetyNumber(aliceOld.PeerID, me.PeerID))), 200, apitype.ScanMismatch, "do not match"},
		{"our code with another contact", qrPNG(t, safetyQRDigits(identity.SafetyNumber(me.PeerID, walt.PeerID))), 200, apitype.ScanMismatch, "do not match"},
		{"an invite's code", qrPNG(t, "PARLEY:ABCDEFGH234567"), 200, apitype.ScanNotSafetyNumber, "not a safety number"},
		{"sixty digits but letters", qrPNG(t, aliceCode[:59]+"x"), 200, apitype.ScanNotSafetyNumber, "not a safety number"},
		{"no code in the frame", encodePNG(t, blank), 200, apitype.ScanNoCode, "No QR code"},
		{"garbage", []byte("not an image at all"), 400, "", "not a JPEG or PNG image"},
		{"a GIF", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), 400, "", "not a JPEG or PNG image"},
		{"a damaged JPEG", frame[:len(frame)/2], 400, "", "damaged"},
		{"too tall", jpegClaiming(t, 1, apitype.MaxScanSide+1), 400, "", "at most 4096 on a side"},
		{"too many pixels", jpegClaiming(t, apitype.MaxScanSide, apitype.MaxScanSide), 400, "", "in all"}, // each side allowed
		{"zero pixels wide", jpegClaiming(t, 0, 8), 400, "", ""},
		{"empty", nil, 400, "", "empty"},
		{"over the byte limit", append(bytes.Clone(frame), make([]byte, apitype.MaxScanBytes)...), 413, "", "too large"},
	} {
		status, v, body := scan("alice", tc.img)
		if status != tc.status || v.Result != tc.result || !strings.Contains(body, tc.message) {
			t.Errorf("%s: %d %s; want %d %q with %q", tc.name, status, body, tc.status, tc.result, tc.message)
		}
		unchanged(tc.name)
	}

	if status, _, body := scan("stray", frame); status != http.StatusNotFound || !strings.Contains(body, "accept it") {
		t.Errorf("scanning for a request: %d %s, want 404", status, body)
	}
	if status, _, body := scan("nobody", frame); status != http.StatusNotFound {
		t.Errorf("scanning for an unknown contact: %d %s, want 404", status, body)
	}

	status, v, body := scan("alice", frame)
	if status != http.StatusOK || v.Result != apitype.ScanMatch || !v.Contact.Verified || !strings.Contains(v.Message, "alice is verified") {
		t.Fatalf("her own code: %d %s", status, body)
	}
	if c, _ := h.node.contact(aliceID); !c.Verified {
		t.Fatal("a matching scan left alice unverified")
	}
	// Her code as a picture (a screenshot picked as a file), sent by the
	// Go client, matches too.
	if v, err := h.client().ScanSafetyQR(t.Context(), "alice", qrPNG(t, aliceCode)); err != nil || v.Result != apitype.ScanMatch || !v.Contact.Verified {
		t.Fatalf("her code as a PNG: %+v, %v", v, err)
	}
	if _, err := h.client().ScanSafetyQR(t.Context(), "alice", []byte("junk")); err == nil || !strings.Contains(err.Error(), "not a JPEG or PNG image") {
		t.Fatalf("junk through the client: %v", err)
	}
}

// Other routes keep the API's small body cap: only the scan route takes
// an image's worth.
func TestSafetyScanCapIsItsOwn(t *testing.T) {
	h := start(t)
	big := `{"verified":true,"x":"` + strings.Repeat("a", apitype.MaxBodyBytes) + `"}`
	if resp, body := h.do(http.MethodPost, "/api/v1/contacts/alice/verify", big); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("a 64 KiB verify body: %d %s, want 413", resp.StatusCode, body)
	}
}

// FuzzScanQR: whatever the bytes, the decoder answers (a code, none, or a
// 400 error) without panicking or taking more than the image limits allow.
func FuzzScanQR(f *testing.F) {
	sn := safetyQRDigits(identity.SafetyNumber("12D3KooWA", "12D3KooWB"))
	frame := cameraFrame(f, sn)
	f.Add(frame)
	f.Add(qrPNG(f, sn))
	f.Add(frame[:len(frame)/3])
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Add([]byte("\xff\xd8\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		text, found, err := localapi.ScanQR(data)
		if err != nil {
			var e *apitype.Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest || found || text != "" {
				t.Fatalf("error %v (found %v, %q): want a 400 alone", err, found, text)
			}
			return
		}
		if !found && text != "" {
			t.Fatalf("no code found, yet text %q", text)
		}
	})
}

// BenchmarkScanQR is the node's work for one frame the GUI sends: a
// 640×480 JPEG with a safety-number code in it.
func BenchmarkScanQR(b *testing.B) {
	frame := cameraFrame(b, safetyQRDigits(identity.SafetyNumber("12D3KooWA", "12D3KooWB")))
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, found, err := localapi.ScanQR(frame); !found || err != nil {
			b.Fatalf("found %v, %v", found, err)
		}
	}
}
