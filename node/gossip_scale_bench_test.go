package node_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gossipsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/pubsub"
)

// rpcBytes counts the bytes of the RPCs a router sends (a RawTracer).
type rpcBytes struct{ sent, dups atomic.Int64 }

func (r *rpcBytes) SendRPC(rpc *gossipsub.RPC, _ peer.ID)                 { r.sent.Add(int64(proto.Size(&rpc.RPC))) }
func (r *rpcBytes) DuplicateMessage(*gossipsub.Message)                   { r.dups.Add(1) }
func (*rpcBytes) AddPeer(peer.ID, protocol.ID)                            {}
func (*rpcBytes) RemovePeer(peer.ID)                                      {}
func (*rpcBytes) OnNewOutboundStream(peer.ID, protocol.ID)                {}
func (*rpcBytes) OnClosedOutboundStream(peer.ID)                          {}
func (*rpcBytes) Join(string)                                             {}
func (*rpcBytes) Leave(string)                                            {}
func (*rpcBytes) Graft(peer.ID, string)                                   {}
func (*rpcBytes) Prune(peer.ID, string)                                   {}
func (*rpcBytes) ValidateMessage(*gossipsub.Message)                      {}
func (*rpcBytes) DeliverMessage(*gossipsub.Message)                       {}
func (*rpcBytes) RejectMessage(*gossipsub.Message, string)                {}
func (*rpcBytes) ThrottlePeer(peer.ID)                                    {}
func (*rpcBytes) RecvRPC(*gossipsub.RPC)                                  {}
func (*rpcBytes) SendRPCCompleted(*gossipsub.RPC, peer.ID, time.Duration) {}
func (*rpcBytes) DropRPC(*gossipsub.RPC, peer.ID)                         {}
func (*rpcBytes) UndeliverableMessage(*gossipsub.Message)                 {}

// BenchmarkGossipScale is the gossip layer alone at group sizes a process
// of real nodes cannot hold on two cores: Parley's router (pubsub.NewRouter:
// its options, flood publish, scoring) on go-libp2p's mocknet (in-memory
// streams, no transport security), each member connected to 8 others
// picked at random plus whoever picked it, as GroupPeers builds. Messages
// of 350 bytes (a group text envelope) from random members, one at a
// time, each once every member has it; per member: bytes sent, duplicates
// received, CPU. No store, no crypto: the floor under BenchmarkGroupScale.
//
//	go test -run='^$' -bench=GossipScale -benchtime=1x ./node/
func BenchmarkGossipScale(b *testing.B) {
	for _, n := range []int{200, 1000} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			for b.Loop() {
				benchGossipScale(b, n, 8, 30)
			}
		})
	}
}

func benchGossipScale(b *testing.B, n, k, rounds int) {
	const size = 350
	mn := mocknet.New()
	defer mn.Close()
	hosts := make([]host.Host, n)
	routers := make([]*pubsub.Router, n)
	topics := make([]*gossipsub.Topic, n)
	counters := make([]*rpcBytes, n)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		for i := range n {
			if routers[i] != nil {
				routers[i].Close()
			}
		}
	}()
	var mu sync.Mutex
	have := map[uint64]int{}
	done := make(chan uint64, 1)
	for i := range n {
		h, err := mn.GenPeer()
		if err != nil {
			b.Fatal(err)
		}
		hosts[i] = h
		counters[i] = &rpcBytes{}
		if routers[i], err = pubsub.NewRouter(h, quiet, gossipsub.WithRawTracer(counters[i])); err != nil {
			b.Fatal(err)
		}
		if topics[i], err = routers[i].PubSub().Join("/parley-bench/scale"); err != nil {
			b.Fatal(err)
		}
		sub, err := topics[i].Subscribe()
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer sub.Cancel()
			for {
				m, err := sub.Next(ctx)
				if err != nil {
					return
				}
				id := binary.BigEndian.Uint64(m.Data)
				mu.Lock()
				if have[id]++; have[id] == n {
					done <- id
				}
				mu.Unlock()
			}
		}()
	}
	if err := mn.LinkAll(); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, uint64(n)))
	for i := range n {
		for _, j := range rng.Perm(n)[:k+1] {
			if j != i && len(hosts[i].Network().ConnsToPeer(hosts[j].ID())) == 0 {
				if _, err := mn.ConnectPeers(hosts[i].ID(), hosts[j].ID()); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	time.Sleep(15 * time.Second) // GossipSub heartbeats (1 s) build the meshes, on a loaded machine
	seq := uint64(0)
	send := func() time.Duration {
		seq++
		payload := make([]byte, size)
		binary.BigEndian.PutUint64(payload, seq)
		start := time.Now()
		if err := topics[rng.IntN(n)].Publish(context.Background(), payload); err != nil {
			b.Fatal(err)
		}
		select {
		case <-done:
		case <-time.After(time.Minute):
			mu.Lock()
			got := have[seq]
			mu.Unlock()
			b.Fatalf("message %d reached %d of %d members in a minute", seq, got, n)
		}
		return time.Since(start)
	}
	for range 5 {
		send()
	}
	var sent0, dups0 int64
	for _, c := range counters {
		sent0 += c.sent.Load()
		dups0 += c.dups.Load()
	}
	runtime.GC()
	cpu0, wall0 := cpuTime(b, 0), time.Now()
	var lat []time.Duration
	for range rounds {
		lat = append(lat, send())
	}
	cpu, wall := cpuTime(b, 0)-cpu0, time.Since(wall0)
	var sent, dups int64
	for _, c := range counters {
		sent += c.sent.Load()
		dups += c.dups.Load()
	}
	conns := 0
	for _, h := range hosts {
		conns += len(h.Network().Peers())
	}
	var mem runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&mem)
	per := float64(rounds) * float64(n)
	b.ReportMetric(float64(conns)/float64(n), "conns/member")
	b.ReportMetric(float64(sent-sent0)/per, "bytes-out/msg/member")
	b.ReportMetric(float64(dups-dups0)/per, "dups/msg/member")
	b.ReportMetric(float64(cpu)/float64(time.Microsecond)/per, "cpu-µs/msg/member")
	b.ReportMetric(float64(cpu)/float64(wall), "cores")
	b.ReportMetric(ms(percentile(lat, 0.5)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 0.99)), "p99-ms")
	b.ReportMetric(float64(mem.HeapInuse)/float64(n)/(1<<20), "heap-MiB/member")
}
