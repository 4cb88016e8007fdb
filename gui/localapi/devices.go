package localapi

import (
	"net/http"

	"github.com/parley-im/parley/gui/apitype"
)

// handleDevices answers GET /api/v1/devices: the devices of the user's
// person, this node marked.
func (s *Server) handleDevices(w http.ResponseWriter, r *http.Request) {
	devices, err := s.messages.Devices(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	views := make([]apitype.DeviceView, len(devices))
	for i, d := range devices {
		views[i] = apitype.NewDeviceView(d)
	}
	writeJSON(w, http.StatusOK, views)
}
