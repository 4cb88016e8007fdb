package main

// Opening a conversation of 10,000 messages, each edited once and reacted
// to by both sides, as the GUI's first screen does: one GET of the
// newest page (GET /api/v1/messages?with=..&limit=50&read=true), through
// a real API server over a real node, which folds every message's edits
// and reactions into its view. The baseline, in the same run, is the
// same GET on a conversation of 10,000 plain messages.
//
//	go test -run='^$' -bench=OpenConversation -benchtime=1x ./cmd/parley/

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/client"
	"github.com/parley-im/parley/gui/localapi"
	"github.com/parley-im/parley/internal/parleytest"
	"github.com/parley-im/parley/node"
)

const openBenchMessages = 10000

func BenchmarkOpenConversation10k(b *testing.B) {
	ctx := context.Background()
	bob := parleytest.StartNode(b, "bob", parleytest.Quiet())
	alice := parleytest.StartNode(b, "alice", parleytest.Quiet())
	carol := parleytest.StartNode(b, "carol", parleytest.Quiet())
	parleytest.Befriend(b, alice, bob)
	parleytest.Befriend(b, carol, bob)

	sendAll := func(from *parleytest.Node, to string) []parley.Message {
		out := make([]parley.Message, openBenchMessages)
		var next atomic.Int64
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for i := int(next.Add(1)) - 1; i < openBenchMessages; i = int(next.Add(1)) - 1 {
					m, err := from.Messenger().Send(ctx, to, fmt.Sprintf("a message of a typical length, number %d", i), parley.ClientID{})
					if err != nil {
						b.Error(err)
						return
					}
					out[i] = m
				}
			})
		}
		wg.Wait()
		return out
	}
	var annotated []parley.Message
	var wg sync.WaitGroup
	wg.Go(func() { annotated = sendAll(alice, "bob") })
	wg.Go(func() { sendAll(carol, "bob") })
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	// Alice edits each of hers; both react to it.
	var next atomic.Int64
	for range 16 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < openBenchMessages; i = int(next.Add(1)) - 1 {
				id := annotated[i].ID.String()
				for _, a := range []struct {
					n *parleytest.Node
					a parley.Action
				}{
					{alice, parley.Action{Kind: parley.ActionEdit, Conversation: "bob", Message: id, Text: fmt.Sprintf("an edited message of a typical length, %d", i)}},
					{alice, parley.Action{Kind: parley.ActionReact, Conversation: "bob", Message: id, Emoji: "❤️"}},
					{bob, parley.Action{Kind: parley.ActionReact, Conversation: "alice", Message: id, Emoji: "👍"}},
				} {
					if _, err := a.n.Messenger().Act(ctx, a.a); err != nil && !b.Failed() {
						b.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	parleytest.EventuallyWithin(b, 5*time.Minute, "bob holding every message, edit and reaction", func() bool {
		msgs, err := bob.Messenger().Messages(ctx, "alice", parley.Page{}, false)
		if err != nil || len(msgs) != openBenchMessages {
			return false
		}
		for _, m := range msgs {
			if !m.Edited() || m.View == nil || len(m.View.Reactions) != 2 {
				return false
			}
		}
		plain, err := bob.Messenger().Messages(ctx, "carol", parley.Page{}, false)
		return err == nil && len(plain) == openBenchMessages
	})

	c := startAPI(b, bob.Messenger())
	b.ResetTimer()
	for range b.N {
		for _, conv := range []struct{ name, with string }{{"edited-and-reacted", "alice"}, {"baseline-plain", "carol"}} {
			var times []time.Duration
			for range 200 {
				start := time.Now()
				page, err := c.Messages(ctx, conv.with, parley.Page{Limit: 50}, true)
				times = append(times, time.Since(start))
				if err != nil || len(page) != 50 {
					b.Fatalf("GET messages with %s: %d, %v", conv.with, len(page), err)
				}
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, conv.name+"-p50-ms")
			b.ReportMetric(float64(times[len(times)*99/100].Microseconds())/1000, conv.name+"-p99-ms")
		}
	}
}

// startAPI serves the local API over m, as `parley run` does, until the
// benchmark ends, and returns a client of it.
func startAPI(b *testing.B, m *node.Messenger) *client.Client {
	dir := b.TempDir()
	srv, err := localapi.New(localapi.Config{DataDir: dir, DefaultName: node.DefaultName,
		Messages: m, Groups: m, Files: m, Network: m, Events: m, Keystore: m, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	b.Cleanup(func() {
		cancel()
		<-done
		srv.Close()
	})
	c, err := client.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}
