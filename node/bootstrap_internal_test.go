package node

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const (
	bootA = "/ip4/192.0.2.1/tcp/4001/p2p/12D3KooWLCdULiC1rDYXB93hPCAnGXExwx5X3BHJyYRhhaiU4LJt"
	bootB = "/ip4/192.0.2.2/udp/4001/quic-v1/p2p/12D3KooWGjx6E3npduK6FCCoLupy7Do33HM9vRjQd73gwWbCAJDd"
)

func TestReadBootstrapFile(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
		wantErr    string
	}{
		{"empty", "", nil, ""},
		{"one a line", bootA + "\n" + bootB + "\n", []string{bootA, bootB}, ""},
		{"comments and blanks", "# our relays\n\n  " + bootA + "  # always on\n#" + bootB + "\n", []string{bootA}, ""},
		{"no final newline, CRLF", bootA + "\r\n" + bootB, []string{bootA, bootB}, ""},
		{"no peer ID", "# x\n/ip4/192.0.2.1/tcp/4001\n", nil, ":2: "},
		{"not an address", bootA + "\nrelay.example.org\n", nil, ":2: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), BootstrapFile)
			if err := os.WriteFile(path, []byte(tc.text), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := ReadBootstrapFile(path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), path+tc.wantErr) {
					t.Fatalf("error %v, want one naming %s%s", err, path, tc.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if _, err := ReadBootstrapFile(filepath.Join(t.TempDir(), "missing")); !os.IsNotExist(err) {
		t.Fatalf("a missing file: %v", err)
	}
}
