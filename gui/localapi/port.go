package localapi

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/parley-im/parley/internal/atomicfile"
)

// portFile remembers the port the OS chose for an API address with port 0,
// so the GUI comes back at the same URL after a restart: a browser tab left
// open reconnects by itself, and its session cookie (named after the port)
// still applies.
const portFile = "api-port.json"

type portState struct {
	// Configured is the address as given (Config.Addr); Bound is what it
	// became.
	Configured string `json:"configured"`
	Bound      string `json:"bound"`
}

// listenStable listens on the address bound last time when the
// configuration has not changed, else (or when that port is taken) on addr
// itself, and remembers what it got. A failure to remember is not fatal:
// the API works, it only comes back on another port next time.
func (s *Server) listenStable(dataDir, addr string) (net.Listener, error) {
	path := filepath.Join(dataDir, portFile)
	var prev portState
	if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &prev) == nil &&
		prev.Configured == addr && prev.Bound != "" {
		if ln, err := net.Listen("tcp", prev.Bound); err == nil {
			return ln, nil
		}
		s.log.Info("the API's port of last time is taken: using a new one", "port", prev.Bound)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("localapi: listen: %w", err)
	}
	b, _ := json.Marshal(portState{Configured: addr, Bound: ln.Addr().String()})
	if err := atomicfile.Write(path, b); err != nil {
		s.log.Warn("remembering the API's port", "err", err)
	}
	return ln, nil
}
