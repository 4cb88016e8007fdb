package localapi

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"strings"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
)

// The GUI scans the other side's safety-number QR code with the browser's
// camera, but decodes it here: Chromium on Linux has no BarcodeDetector, and
// a decoder in Go is one decoder for every browser. The browser posts
// scaled-down JPEG frames, one at a time, a few a second, until one holds a
// code.

// maxScans bounds the decodes running at once: each takes tens of
// milliseconds of CPU and some megabytes for the image. Further scans wait
// for a slot (or for their request to end).
const maxScans = 2

// handleSafetyScan answers POST /api/v1/contacts/{contact}/safety/scan: the
// body is an image of the contact's safety-number QR code (their screen, as
// our camera saw it). The code must hold the safety number we compute for
// the two of us: the number is symmetric, so theirs equals ours exactly
// when each holds the other's true identity key. A match marks the contact
// verified, as Signal does after a scan; anything else changes nothing.
func (s *Server) handleSafetyScan(w http.ResponseWriter, r *http.Request) {
	c, err := s.messages.Resolve(r.Context(), r.PathValue("contact"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if c.State != parley.ContactAccepted {
		s.fail(w, r, fmt.Errorf("%w: %q is a request; accept it before you verify them", parley.ErrUnknownContact, c.Name))
		return
	}
	want, err := s.messages.SafetyNumber(c.PeerID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	select {
	case s.scanSlots <- struct{}{}:
		defer func() { <-s.scanSlots }()
	case <-r.Context().Done():
		return // the client is gone: no one reads an answer
	}
	img, err := io.ReadAll(r.Body) // capped by guard at MaxScanBytes
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		s.fail(w, r, &apitype.Error{Status: http.StatusRequestEntityTooLarge, Code: apitype.CodeTooLarge,
			Message: fmt.Sprintf("image too large (limit %d bytes): send a smaller photo or frame", tooBig.Limit)})
		return
	case err != nil:
		s.fail(w, r, badRequest("reading the image: "+err.Error()))
		return
	case len(img) == 0:
		s.fail(w, r, badRequest("request body is empty: expected a JPEG or PNG image"))
		return
	}
	text, found, err := scanQR(img)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	view := apitype.SafetyScanView{Contact: s.contactView(c)}
	scanned, isNumber := safetyDigits(text)
	switch {
	case !found:
		view.Result, view.Message = apitype.ScanNoCode, "No QR code found yet: hold their code steady in the frame."
	case !isNumber:
		view.Result, view.Message = apitype.ScanNotSafetyNumber,
			fmt.Sprintf("That QR code is not a safety number. Ask %s to open your contact details in Parley and show the code there.", c.Name)
	case scanned != strings.ReplaceAll(want, " ", ""):
		view.Result, view.Message = apitype.ScanMismatch,
			fmt.Sprintf("The safety numbers do not match: %s is not marked verified. Check that the code is the one %s shows for you; if it is, your keys differ, and someone may be in between.", c.Name, c.Name)
	default:
		v, err := s.messages.SetVerified(r.Context(), c.PeerID, true)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		view.Result, view.Message, view.Contact = apitype.ScanMatch,
			fmt.Sprintf("The safety numbers match: %s is verified.", c.Name), s.contactView(v)
	}
	writeJSON(w, http.StatusOK, view)
}

// safetyDigits reads a scanned code as a safety number: its sixty digits,
// without the spaces a hand-made code may put between groups.
func safetyDigits(text string) (string, bool) {
	digits := strings.ReplaceAll(text, " ", "")
	if len(digits) != 60 || strings.Trim(digits, "0123456789") != "" {
		return "", false
	}
	return digits, true
}

// scanQR reads the QR code in an image, JPEG or PNG. found is false for an
// image in which no code could be read (none there, blurred, cut off); an
// error (an *apitype.Error, 400) says the bytes are not an image it takes:
// not JPEG or PNG, corrupt, or larger than apitype.MaxScanSide or
// apitype.MaxScanPixels, which it checks from the header before decoding.
func scanQR(data []byte) (text string, found bool, err error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || (format != "jpeg" && format != "png") {
		return "", false, badRequest("not a JPEG or PNG image")
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > apitype.MaxScanSide || cfg.Height > apitype.MaxScanSide ||
		cfg.Width*cfg.Height > apitype.MaxScanPixels {
		return "", false, badRequest(fmt.Sprintf("image is %d×%d pixels: at most %d on a side and %d in all",
			cfg.Width, cfg.Height, apitype.MaxScanSide, apitype.MaxScanPixels))
	}
	var img image.Image
	if format == "jpeg" {
		img, err = jpeg.Decode(bytes.NewReader(data))
	} else {
		img, err = png.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return "", false, badRequest(fmt.Sprintf("the %s image is damaged: %v", strings.ToUpper(format), err))
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", false, badRequest("the image cannot be read: " + err.Error())
	}
	// TRY_HARDER looks at every third row for the finder patterns, not
	// one in many: a code that fills a small part of a camera frame is
	// still found, for a few milliseconds more on a frame the GUI scaled
	// down.
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		// Not found, a checksum or format error: no code read in this
		// image; the next frame may do better.
		return "", false, nil
	}
	return res.GetText(), true, nil
}
