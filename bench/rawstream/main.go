// Command rawstream is the floor for bench/files-vs-croc.sh: one go-libp2p
// stream carrying a file's bytes between two processes, on the transport,
// connection security and muxer a Parley node uses (TCP, TLS 1.3 preferred
// over Noise, yamux), with nothing of Parley's on top: no hashing, no
// encryption of ours, no store. The receiver reads into io.Discard. It
// listens on TCP and on QUIC (as a node does, QUIC bringing its own TLS
// 1.3 and streams): the address dialled picks the transport.
//
//	rawstream recv            # prints its TCP address, then its QUIC one, then "complete BYTES" per stream
//	rawstream send ADDR FILE  # sends FILE, returns once the receiver has every byte
package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	noise "github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

const protocolID = "/parley-bench/raw/1"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: rawstream recv | rawstream send ADDR FILE")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "recv":
		err = recv()
	case "send":
		if len(os.Args) != 4 {
			err = fmt.Errorf("usage: rawstream send ADDR FILE")
			break
		}
		err = send(os.Args[2], os.Args[3])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rawstream:", err)
		os.Exit(1)
	}
}

// options are a node's transport choices (node/host.go).
func options() []libp2p.Option {
	return []libp2p.Option{
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(quic.NewTransport),
		libp2p.Security(libp2ptls.ID, libp2ptls.New),
		libp2p.Security(noise.ID, noise.New),
		libp2p.DisableMetrics(),
	}
}

// recv serves streams until stdin closes: each is read to its end, then
// answered with one byte so that the sender's clock stops when every byte
// has arrived.
func recv() error {
	h, err := libp2p.New(append(options(), libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"))...)
	if err != nil {
		return err
	}
	defer h.Close()
	h.SetStreamHandler(protocolID, func(s network.Stream) {
		n, err := io.Copy(io.Discard, s)
		if err != nil {
			_ = s.Reset()
			return
		}
		_, _ = s.Write([]byte{1})
		_ = s.Close()
		fmt.Println("complete", n)
	})
	for _, proto := range []int{ma.P_TCP, ma.P_QUIC_V1} {
		for _, a := range h.Addrs() {
			if _, err := a.ValueForProtocol(proto); err == nil {
				fmt.Printf("%s/p2p/%s\n", a, h.ID())
				break
			}
		}
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

func send(addr, path string) error {
	m, err := ma.NewMultiaddr(addr)
	if err != nil {
		return err
	}
	info, err := peer.AddrInfoFromP2pAddr(m)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h, err := libp2p.New(append(options(), libp2p.NoListenAddrs)...)
	if err != nil {
		return err
	}
	defer h.Close()
	ctx := context.Background()
	if err := h.Connect(ctx, *info); err != nil {
		return err
	}
	s, err := h.NewStream(ctx, info.ID, protocolID)
	if err != nil {
		return err
	}
	n, err := io.CopyBuffer(s, bufio.NewReaderSize(f, 1<<20), make([]byte, 1<<20))
	if err != nil {
		return err
	}
	if err := s.CloseWrite(); err != nil {
		return err
	}
	if _, err := io.ReadFull(s, make([]byte, 1)); err != nil {
		return fmt.Errorf("no acknowledgement after %d bytes: %w", n, err)
	}
	fmt.Println("sent", n)
	return nil
}
