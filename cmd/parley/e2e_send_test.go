package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
	"github.com/parley-im/parley/gui/client"
	"github.com/parley-im/parley/internal/parleytest"
)

// The node stores a `parley send` and restarts before it answers: the CLI
// sees the connection break, finds the node again through api.json (new
// token) and retries with the same client ID, so it exits 0 and the
// message exists once. Before client IDs, the CLI failed here although the
// message was delivered, and a user who retried sent it twice.
func TestSendRetriedAcrossRestartStoresOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	alice, bob := parleytest.StartProcess(t, "alice"), parleytest.StartProcess(t, "bob")
	parleytest.Meet(alice, bob)

	// A proxy in front of alice's API passes the first send on, then holds
	// its answer while alice restarts, and drops it.
	apiFile := filepath.Join(alice.Dir, apitype.FileName)
	var f apitype.File
	if b, err := os.ReadFile(apiFile); err != nil || json.Unmarshal(b, &f) != nil {
		t.Fatalf("reading alice's api.json: %v", err)
	}
	target, _ := url.Parse(f.URL)
	stored, restarted := make(chan struct{}), make(chan struct{})
	var once sync.Once
	forward := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Host = target.Host // the API checks Host
		first := false
		if r.Method == http.MethodPost && r.URL.Path == apitype.PathMessages {
			once.Do(func() { first = true })
		}
		if !first {
			forward.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		forward.ServeHTTP(rec, r)
		if rec.Code != http.StatusCreated {
			t.Errorf("the first send through the proxy: %d %s", rec.Code, rec.Body)
		}
		close(stored)
		<-restarted
		panic(http.ErrAbortHandler) // the answer is lost: the connection closes
	}))
	defer proxy.Close()
	f.URL = proxy.URL
	b, _ := json.Marshal(f)
	if err := os.WriteFile(apiFile, b, 0o600); err != nil {
		t.Fatal(err)
	}

	type result struct {
		out  string
		code int
	}
	done := make(chan result, 1)
	go func() {
		out, code := alice.Try("send", "bob", "exactly once")
		done <- result{out, code}
	}()
	select {
	case <-stored:
	case r := <-done:
		t.Fatalf("the send ended before the proxy passed it on: exit %d: %s", r.code, r.out)
	}
	alice.Stop()
	alice.Start()
	close(restarted)
	if r := <-done; r.code != 0 {
		t.Fatalf("parley send across a restart: exit %d: %s", r.code, r.out)
	}
	parleytest.Eventually(t, "bob holding the message", func() bool { return parleytest.Count(bob.Messages("alice"), "exactly once") > 0 })
	if c := parleytest.Count(bob.Messages("alice"), "exactly once"); c != 1 {
		t.Fatalf("bob holds the message %d times, want once", c)
	}
	if c := parleytest.Count(alice.Messages("bob"), "exactly once"); c != 1 {
		t.Fatalf("alice holds the message %d times, want once", c)
	}
}

// A client that read api.json before the node restarted follows it to its
// new token rather than reporting "missing or wrong API token"; once the
// node is stopped, it says no node runs for the data dir.
func TestSendClientFollowsNodeRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	alice := parleytest.StartProcess(t, "alice")
	c, err := client.Open(alice.Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if _, err := c.Self(ctx); err != nil {
		t.Fatal(err)
	}
	alice.Stop()
	alice.Start()
	if _, err := c.Self(ctx); err != nil {
		t.Fatalf("after the node restarted: %v", err)
	}
	if _, err := c.Send(ctx, "nobody", "hi"); !errors.Is(err, parley.ErrUnknownContact) {
		t.Fatalf("send to an unknown contact after a restart: %v, want unknown contact", err)
	}
	alice.Stop()
	_, err = c.Self(ctx)
	if !errors.Is(err, parley.ErrNotRunning) || !strings.Contains(err.Error(), "not running for data dir "+alice.Dir) {
		t.Fatalf("after the node stopped: %v; want it said that no node runs for the data dir", err)
	}
	out, code := alice.Try("send", "bob", "hi")
	if code == 0 || !strings.Contains(out, "not running for data dir") {
		t.Fatalf("parley send with no node: exit %d: %s", code, out)
	}
}
