package node

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"

	"github.com/libp2p/go-libp2p/core/host"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/parley-im/parley/internal/atomicfile"
)

// listenFile remembers the ports the OS chose for listen addresses with
// port 0, so a node comes back on the same ports after a restart and its
// contacts, who dial the addresses they last saw, find it again.
const listenFile = "listen.json"

type listenState struct {
	// Configured is the listen list as given; Bound is what it became.
	Configured []string `json:"configured"`
	Bound      []string `json:"bound"`
	// Private: bound in a private network. Ports are not carried across a
	// switch to or from one, so a QUIC port list never meets a swarm key.
	Private bool `json:"private,omitempty"`
}

// listenWithStablePorts starts the host on the ports it had last time when
// the configuration has not changed, and falls back to the configured
// addresses when those ports are taken. cfg.listen is the configured list.
func listenWithStablePorts(dataDir string, cfg hostConfig) (host.Host, error) {
	listen, private := cfg.listen, cfg.psk != nil
	path := filepath.Join(dataDir, listenFile)
	var prev listenState
	if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &prev) == nil && prev.fits(listen, private) {
		again := cfg
		again.listen = prev.Bound
		if h, err := newHost(again); err == nil {
			return h, nil
		}
	}
	h, err := newHost(cfg)
	if err != nil {
		return nil, err
	}
	if bound, ok := boundAddrs(listen, h.Network().ListenAddresses()); ok {
		b, _ := json.Marshal(listenState{Configured: listen, Bound: bound, Private: private})
		if err := atomicfile.Write(path, b); err != nil {
			h.Close()
			return nil, err
		}
	}
	return h, nil
}

// fits reports whether the ports bound last time may be bound again: the
// configuration is the same, and so is the kind of network.
func (s listenState) fits(listen []string, private bool) bool {
	return slices.Equal(s.Configured, listen) && len(s.Bound) == len(listen) && s.Private == private
}

// boundAddrs pairs each configured address with the address it was bound
// to: the same address with its port 0 replaced by the port the OS chose.
func boundAddrs(configured []string, listening []ma.Multiaddr) ([]string, bool) {
	out := make([]string, len(configured))
	for i, c := range configured {
		want, err := ma.NewMultiaddr(c)
		if err != nil {
			return nil, false
		}
		found := false
		for _, l := range listening {
			if zeroPorts(l).Equal(zeroPorts(want)) {
				out[i], found = l.String(), true
				break
			}
		}
		if !found {
			return nil, false
		}
	}
	return out, true
}

// zeroPorts sets every TCP and UDP port in a to 0.
func zeroPorts(a ma.Multiaddr) ma.Multiaddr {
	var out ma.Multiaddr
	for _, c := range a {
		switch c.Protocol().Code {
		case ma.P_TCP, ma.P_UDP:
			z, err := ma.NewComponent(c.Protocol().Name, "0")
			if err != nil {
				return a
			}
			out = append(out, *z)
		default:
			out = append(out, c)
		}
	}
	return out
}
