package localapi

import (
	"image"
	"image/color"
)

// RouteTable is the routes table as "METHOD PATH" patterns, for the test
// that holds openapi.json to it.
func RouteTable() []string {
	var out []string
	for _, rt := range (*Server)(nil).routeTable() {
		out = append(out, rt.method+" "+rt.path)
	}
	return out
}

// ScanQR is the safety-scan route's decoder, for its fuzz test.
var ScanQR = scanQR

// QRImage draws text as the API's QR codes draw it (the modules of the SVG
// and its quiet zone), scale pixels a module, black on white.
func QRImage(text string, scale int) (*image.Gray, error) {
	bits, err := qrModules(text)
	if err != nil {
		return nil, err
	}
	size := (len(bits) + 2*qrQuietZone) * scale
	img := image.NewGray(image.Rect(0, 0, size, size))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y, row := range bits {
		for x, dark := range row {
			if !dark {
				continue
			}
			for dy := range scale {
				for dx := range scale {
					img.SetGray((x+qrQuietZone)*scale+dx, (y+qrQuietZone)*scale+dy, color.Gray{})
				}
			}
		}
	}
	return img, nil
}
