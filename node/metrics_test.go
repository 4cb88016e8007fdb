package node_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/parley-im/parley/internal/parleytest"
	"github.com/parley-im/parley/node"
	"github.com/parley-im/parley/node/mailbox"
)

// scrape reads http://addr/metrics as Prometheus would.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// counterOf is the value of name's sample whose label key is val.
func counterOf(fams map[string]*dto.MetricFamily, name, key, val string) float64 {
	for _, m := range fams[name].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == key && l.GetValue() == val {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// TestMetrics: a node with MetricsAddr serves go-libp2p's metrics and the
// mailbox service's over HTTP, and a deposit moves its counter; a node
// without it serves none.
func TestMetrics(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	mb := parleytest.StartNode(t, "Mailbox", func(c *node.Config) {
		c.MailboxService, c.MetricsAddr = true, "127.0.0.1:0"
	})
	if a := parleytest.StartNode(t, "Plain").MetricsAddr(); a != "" {
		t.Fatalf("a node started without MetricsAddr serves metrics at %s", a)
	}
	addr := mb.MetricsAddr()
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("MetricsAddr() = %q, want a loopback port", addr)
	}
	fams := scrape(t, addr)
	for _, name := range []string{
		"parley_mailbox_owners", "parley_mailbox_envelopes", "parley_mailbox_bytes", "parley_mailbox_requests_total",
		"libp2p_rcmgr_limit", "libp2p_swarm_dial_ranking_delay_seconds", "libp2p_eventbus_subscribers_total",
		"go_goroutines", "process_resident_memory_bytes",
	} {
		if fams[name] == nil {
			t.Errorf("no %s in /metrics", name)
		}
	}
	if got := counterOf(fams, "parley_mailbox_deposits_total", "result", "stored"); got != 0 {
		t.Fatalf("%v deposits before any", got)
	}

	sk, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h, err := libp2p.New(libp2p.Identity(sk), libp2p.NoListenAddrs, libp2p.DisableMetrics(), libp2p.DisableRelay())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	c, err := mailbox.Dial(ctx, h, mb.AddrInfo())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	key, err := mailbox.DeriveDepositKey(sk, mb.Host().ID(), 0)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := c.Register(ctx, sk, mailbox.Registration{IssuedAt: now, ExpiresAt: now.Add(time.Hour), DepositKey: key}); err != nil {
		t.Fatal(err)
	}
	owner, err := mailbox.OwnerOf(sk.GetPublic())
	if err != nil {
		t.Fatal(err)
	}
	capa := mailbox.IssueCapability(key, owner)
	if err := mailbox.DepositOnce(ctx, mb.AddrInfo(), owner, &capa, []byte("sealed elsewhere")); err != nil {
		t.Fatal(err)
	}
	if err := mailbox.DepositOnce(ctx, mb.AddrInfo(), owner, nil, []byte("no capability")); err == nil {
		t.Fatal("a deposit without a capability was taken")
	}

	fams = scrape(t, addr)
	if got := counterOf(fams, "parley_mailbox_deposits_total", "result", "stored"); got != 1 {
		t.Errorf("deposits stored = %v after one deposit, want 1", got)
	}
	if got := counterOf(fams, "parley_mailbox_deposits_total", "result", "bad_capability"); got != 1 {
		t.Errorf("deposits refused for their capability = %v, want 1", got)
	}
	if got := fams["parley_mailbox_envelopes"].GetMetric()[0].GetGauge().GetValue(); got != 1 {
		t.Errorf("parley_mailbox_envelopes = %v, want 1", got)
	}
	st := mb.Messenger().Status().Mailbox
	if st.Deposits != 1 || st.Refused != 1 || st.Owners != 1 || st.MaxOwners != 1000 {
		t.Errorf("status: %+v; want 1 deposit, 1 refused, 1 of 1000 owners", st)
	}
}
