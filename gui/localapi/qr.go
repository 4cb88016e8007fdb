package localapi

import (
	"fmt"
	"net/http"
	"strings"

	qrcode "github.com/skip2/go-qrcode"
)

// qrQuietZone is the blank border around a QR code, in modules; scanners
// need four.
const qrQuietZone = 4

// handleSelfQR answers GET /api/v1/self/qr.svg: our short invite code (a
// parley: link) as a QR code, drawn as SVG so it stays sharp at any size. A
// phone's camera (or a future mobile Parley) reads the invite without
// anyone typing it.
func (s *Server) handleSelfQR(w http.ResponseWriter, r *http.Request) {
	invite := s.messages.Self().Invite
	if invite == "" {
		s.fail(w, r, fmt.Errorf("no invite code to encode"))
		return
	}
	// Uppercased, an invite is all QR alphanumeric characters, the mode
	// that packs the most characters per module (invites decode in any
	// case).
	svg, err := qrSVG(strings.ToUpper(invite))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	_, _ = w.Write([]byte(svg))
}

// handleSafetyQR draws a contact's safety number as a QR code, its digits
// alone (numeric mode, the densest), for the other side to read off the
// screen instead of comparing sixty digits by eye.
func (s *Server) handleSafetyQR(w http.ResponseWriter, r *http.Request) {
	c, err := s.messages.Resolve(r.Context(), r.PathValue("contact"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sn, err := s.messages.SafetyNumber(c.PeerID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	svg, err := qrSVG(strings.ReplaceAll(sn, " ", ""))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	_, _ = w.Write([]byte(svg))
}

// qrSVG draws text as a QR code: one path of unit squares on a white
// background, with the quiet zone. A short invite (at most 120 QR
// alphanumeric characters) fits version 5 (37×37 modules) at medium error
// correction, which copes with glare on a phone screen read at arm's
// length better than low would, for 4 modules more than low needs.
func qrSVG(text string) (string, error) {
	bits, err := qrModules(text)
	if err != nil {
		return "", err
	}
	n := len(bits)
	size := n + 2*qrQuietZone
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges">`, size, size)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, size, size)
	for y, row := range bits {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			run := 1
			for x+run < len(row) && row[x+run] {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x+qrQuietZone, y+qrQuietZone, run, run)
			x += run
		}
	}
	b.WriteString(`"/></svg>`)
	return b.String(), nil
}

// qrModules is the QR code of text, one bool per module (true is dark),
// without the quiet zone.
func qrModules(text string) ([][]bool, error) {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("localapi: QR code: %w", err)
	}
	q.DisableBorder = true
	return q.Bitmap(), nil
}
