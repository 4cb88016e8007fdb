package invite

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-varint"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/internal/inbound"
	"github.com/parley-im/parley/node/invite/pb"
)

var (
	testSecret = bytes.Repeat([]byte{0x5a}, 16)
	testCard   = []byte("a signed card, as far as this package cares")
)

func newHost(t *testing.T) host.Host {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics(), libp2p.DisableRelay())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// serve starts a Service on a new host; the returned host is connected to it.
func serve(t *testing.T, timeouts inbound.Timeouts) (owner, asker host.Host) {
	t.Helper()
	owner, asker = newHost(t), newHost(t)
	s, err := New(Config{Host: owner, Secret: func() []byte { return testSecret }, Card: func() []byte { return testCard },
		Timeouts: timeouts, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() { _ = s.Close() })
	if err := asker.Connect(context.Background(), peer.AddrInfo{ID: owner.ID(), Addrs: owner.Addrs()}); err != nil {
		t.Fatal(err)
	}
	return owner, asker
}

func TestFetch(t *testing.T) {
	owner, asker := serve(t, inbound.Timeouts{})
	ctx := context.Background()
	card, err := Fetch(ctx, asker, owner.ID(), testSecret)
	if err != nil || !bytes.Equal(card, testCard) {
		t.Fatalf("Fetch with the secret = %q, %v", card, err)
	}
	wrong := bytes.Clone(testSecret)
	wrong[15] ^= 1
	for _, secret := range [][]byte{wrong, nil, testSecret[:8]} {
		if card, err := Fetch(ctx, asker, owner.ID(), secret); !errors.Is(err, ErrWrongSecret) || card != nil {
			t.Fatalf("Fetch with secret %x = %q, %v, want ErrWrongSecret", secret, card, err)
		}
	}
}

// A peer that opens streams and sends nothing holds at most PerStranger of
// them, each only until the idle timeout: the next is reset at once.
func TestStalledStreamsAreBounded(t *testing.T) {
	owner, asker := serve(t, inbound.Timeouts{Idle: time.Minute, Frame: time.Minute, Stream: time.Minute})
	ctx := context.Background()
	// A frame begun and never finished: its first byte starts the handler.
	partial := varint.ToUvarint(20)
	var held []network.Stream
	t.Cleanup(func() {
		for _, st := range held {
			_ = st.Reset()
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("%d stalled streams were all taken; want a refusal past %d", len(held), inbound.PerStranger)
		}
		st, err := asker.NewStream(ctx, owner.ID(), ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Write(partial); err != nil {
			t.Fatal(err)
		}
		_ = st.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		_, err = st.Read(make([]byte, 1))
		if errors.Is(err, network.ErrReset) {
			if len(held) < inbound.PerStranger {
				t.Fatalf("refused with only %d streams held", len(held))
			}
			return
		}
		held = append(held, st) // taken: it waits for the rest of its frame
	}
}

// A stalled request is reset once its time is up.
func TestStalledRequestIsReset(t *testing.T) {
	owner, asker := serve(t, inbound.Timeouts{Idle: 200 * time.Millisecond, Frame: 200 * time.Millisecond, Stream: time.Second})
	st, err := asker.NewStream(context.Background(), owner.ID(), ID)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Reset()
	if _, err := st.Write(varint.ToUvarint(20)); err != nil {
		t.Fatal(err)
	}
	_ = st.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := st.Read(make([]byte, 1)); !errors.Is(err, network.ErrReset) {
		t.Fatalf("a stalled request: read = %v, want a reset", err)
	}
}

func FuzzAnswer(f *testing.F) {
	ok, _ := proto.Marshal(&pb.CardRequest{Secret: testSecret})
	f.Add(ok)
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x10})
	s := &Service{cfg: Config{Secret: func() []byte { return testSecret }, Card: func() []byte { return testCard }}}
	f.Fuzz(func(t *testing.T, b []byte) {
		resp, err := s.answer(b)
		if err != nil {
			return
		}
		var req pb.CardRequest
		if proto.Unmarshal(b, &req) != nil {
			t.Fatal("answered a request that does not decode")
		}
		if (resp.Code == pb.CardResponse_CODE_OK) != bytes.Equal(req.Secret, testSecret) {
			t.Fatalf("secret %x answered %v", req.Secret, resp.Code)
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	ok, _ := proto.Marshal(&pb.CardResponse{Code: pb.CardResponse_CODE_OK, SignedCard: testCard})
	refused, _ := proto.Marshal(&pb.CardResponse{Code: pb.CardResponse_CODE_WRONG_SECRET})
	f.Add(ok)
	f.Add(refused)
	f.Add([]byte{0x08, 0x07})
	f.Fuzz(func(t *testing.T, b []byte) {
		card, err := decodeResponse(b)
		if err == nil && len(card) == 0 {
			t.Fatal("no error and no card")
		}
	})
}
