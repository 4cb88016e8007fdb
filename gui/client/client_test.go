package client_test

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
	"github.com/parley-im/parley/gui/client"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestOpenWithoutAPIFile(t *testing.T) {
	dir := t.TempDir()
	_, err := client.Open(dir)
	if !errors.Is(err, client.ErrNotRunning) || !errors.Is(err, parley.ErrNotRunning) {
		t.Fatalf("Open: %v, want ErrNotRunning", err)
	}
	want := "parley is not running for data dir " + dir + " (start it with: parley --data " + dir + ")"
	if err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
}

func TestStaleAPIFile(t *testing.T) {
	// A port that nothing listens on: what a crashed node leaves behind.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	dir := t.TempDir()
	b, _ := json.Marshal(apitype.File{URL: "http://" + addr, Token: "t"})
	if err := os.WriteFile(filepath.Join(dir, apitype.FileName), b, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := client.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Self(t.Context())
	if !errors.Is(err, client.ErrNotRunning) {
		t.Fatalf("Self: %v, want ErrNotRunning", err)
	}
	if !strings.Contains(err.Error(), "parley --data "+dir) {
		t.Errorf("message %q does not say how to start parley", err)
	}
	if _, err := c.Events(t.Context()); !errors.Is(err, client.ErrNotRunning) {
		t.Errorf("Events: %v, want ErrNotRunning", err)
	}
}

func TestBadAPIFile(t *testing.T) {
	for _, content := range []string{"{", `{"url":"ftp://x","token":"t"}`, `{"url":"http://127.0.0.1:1","token":""}`} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, apitype.FileName), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := client.Open(dir); err == nil || errors.Is(err, client.ErrNotRunning) {
			t.Errorf("Open with api.json %s: %v; want a read error", content, err)
		}
	}
}
