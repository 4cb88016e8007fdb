package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultMetricsAddr is where `parley run --metrics` serves /metrics when
// given no address: loopback only, so that only the machine's own scraper
// (or an SSH tunnel) reads it.
const DefaultMetricsAddr = "127.0.0.1:9464"

// metricsServer serves a node's Prometheus registry over HTTP
// (Config.MetricsAddr). The registry is the node's own, not Prometheus's
// global one, so that several nodes in one process (tests) do not collide.
// go-libp2p keeps its collectors in package variables, though: where nodes
// share a process, its libp2p_* figures are the process's.
type metricsServer struct {
	reg  *prometheus.Registry
	ln   net.Listener
	srv  *http.Server
	done chan struct{} // closed when Serve has returned
}

// newMetricsRegistry is the registry a node with metrics registers on:
// the Go runtime's and the process's collectors, then libp2p's (newHost)
// and the mailbox service's (New).
func newMetricsRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// serveMetrics listens on addr and serves reg at /metrics until close.
// An address off loopback is used as given, with a warning: the figures
// tell anyone who reaches it how many people the node serves.
func serveMetrics(addr string, reg *prometheus.Registry, log *slog.Logger) (*metricsServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		log.Warn("metrics are served beyond loopback: anyone who reaches this address reads the node's load", "addr", ln.Addr())
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		// A figure that cannot be read (the store is closing) should not
		// hide the others.
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		Timeout:       10 * time.Second,
	}))
	m := &metricsServer{
		reg:  reg,
		ln:   ln,
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second},
		done: make(chan struct{}),
	}
	go func() {
		defer close(m.done)
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics: serving stopped", "err", err)
		}
	}()
	log.Info("serving metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	return m, nil
}

// close stops serving, giving a scrape in flight a moment to finish.
func (m *metricsServer) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := m.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = m.srv.Close()
	}
	<-m.done
	return err
}

// registry is the registry to register on; nil without metrics.
func (m *metricsServer) registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// MetricsAddr is where the node serves /metrics (host:port), or "" when
// it serves none (Config.MetricsAddr).
func (n *Node) MetricsAddr() string {
	ms := n.api.node().metrics // the node running now, after a restart in place
	if ms == nil {
		return ""
	}
	return ms.ln.Addr().String()
}
