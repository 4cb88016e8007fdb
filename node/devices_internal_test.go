package node

import (
	"errors"
	"strings"
	"testing"
)

func TestDefaultDeviceName(t *testing.T) {
	tests := []struct {
		host string
		err  error
		want string
	}{
		{"laptop", nil, "laptop"},
		{"  studio.local\n", nil, "studio.local"},
		{"", nil, fallbackDeviceName},
		{"   ", nil, fallbackDeviceName},
		{"box", errors.New("no host name"), fallbackDeviceName},
		{"lap\u200btop", nil, fallbackDeviceName},
		{"a\x00b", nil, fallbackDeviceName},
		{strings.Repeat("x", 1000), nil, fallbackDeviceName},
	}
	for _, tt := range tests {
		got := defaultDeviceName(func() (string, error) { return tt.host, tt.err })
		if got != tt.want {
			t.Errorf("host name %q (%v): device name %q, want %q", tt.host, tt.err, got, tt.want)
		}
	}
}
