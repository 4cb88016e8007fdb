package node

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Bootstrap peers: the addresses a node dials first to join the DHT (and
// tries first as relays), each a multiaddr ending in /p2p/ID.

// BootstrapFile is the file of bootstrap peers in the data dir that
// `parley run` reads when it exists (its --bootstrap-file names another).
const BootstrapFile = "bootstrap.txt"

// ReadBootstrapFile reads a file of bootstrap peers: one multiaddr ending in
// /p2p/ID a line; blank lines and everything after a # are ignored. A line
// that is not such an address is an error naming the line.
func ReadBootstrapFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		s, _, _ := strings.Cut(sc.Text(), "#")
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if _, err := peer.AddrInfoFromString(s); err != nil {
			return nil, fmt.Errorf("%s:%d: %q is not a multiaddr ending in /p2p/ID: %w", path, line, s, err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return out, nil
}

// parseAddrInfos parses bootstrap addresses (Config.Bootstrap,
// Config.PublicDHTBootstrap).
func parseAddrInfos(addrs []string) ([]peer.AddrInfo, error) {
	var out []peer.AddrInfo
	for _, s := range addrs {
		ai, err := peer.AddrInfoFromString(s)
		if err != nil {
			return nil, fmt.Errorf("bootstrap address %q (want /ip4/.../tcp/.../p2p/ID): %w", s, err)
		}
		out = append(out, *ai)
	}
	return out, nil
}
