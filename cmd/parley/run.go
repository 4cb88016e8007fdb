package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/localapi"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/node"
)

// The messenger plays every role the API needs from the node.
var (
	_ localapi.Messages = (*node.Messenger)(nil)
	_ localapi.Groups   = (*node.Messenger)(nil)
	_ localapi.Files    = (*node.Messenger)(nil)
	_ localapi.Network  = (*node.Messenger)(nil)
	_ localapi.Events   = (*node.Messenger)(nil)
	_ localapi.Keystore = (*node.Messenger)(nil)
)

// passphraseEnv holds the keystore passphrase when no file is given.
const passphraseEnv = "PARLEY_PASSPHRASE"

// runOptions are the flags of "parley run" (and of bare "parley").
type runOptions struct {
	listen         []string
	bootstrap      []string
	bootstrapFile  string
	relayService   bool
	relayLate      bool
	mailboxService bool
	publicDHT      bool
	publicDHTBoot  []string
	natPortMap     bool
	api            string
	noMDNS         bool
	name           string
	passphraseFile string
	swarmKeyFile   string
	logLevel       string
	metrics        string
	cpuProfile     string
}

func addRunFlags(cmd *cobra.Command, o *runOptions) {
	f := cmd.Flags()
	f.StringArrayVar(&o.listen, "listen", nil,
		"multiaddr to listen on, repeatable (default: TCP and QUIC on all interfaces, random ports; TCP only with --swarm-key)")
	f.StringVar(&o.api, "api", localapi.DefaultAddr, "loopback host:port for the web GUI and the local API")
	f.StringArrayVar(&o.bootstrap, "bootstrap", nil, "multiaddr of a peer to join the network through (with /p2p/ID), repeatable")
	f.StringVar(&o.bootstrapFile, "bootstrap-file", "",
		"file of bootstrap peers: one multiaddr a line, # comments (default: DATA/"+node.BootstrapFile+" if it exists)")
	f.BoolVar(&o.relayService, "relay-service", false,
		"serve as a relay and DHT server for others at once: for an always-on node with a public address")
	// For benchmarks only (docs/benchmarks.md): the old behaviour, to
	// measure against in the same run.
	f.BoolVar(&o.relayLate, "relay-after-verdict", false, "reserve a relay slot only once AutoNAT finds this node unreachable")
	if err := f.MarkHidden("relay-after-verdict"); err != nil {
		panic(err)
	}
	f.BoolVar(&o.mailboxService, "mailbox-service", false,
		"hold mail for people who choose this node as their mailbox, while they are offline, for this run whatever the setting says (default: on with --relay-service, else the setting, which is off until turned on in Settings or with parley settings --mailbox-service)")
	f.BoolVar(&o.publicDHT, "public-dht", false,
		"also join the public IPFS DHT, to find and be found by contacts on other networks (it advertises a key hashed from your peer ID; not with --swarm-key)")
	f.StringSliceVar(&o.publicDHTBoot, "public-dht-bootstrap", nil,
		"join the public DHT through these bootstrap peers (`ADDR,...`, multiaddrs with /p2p/ID) instead of the IPFS ones: another IPFS-compatible DHT; whenever the public DHT is on, by --public-dht or by the setting")
	f.BoolVar(&o.natPortMap, "nat-portmap", false, "ask your router (UPnP, NAT-PMP) to forward a port to this node")
	f.BoolVar(&o.noMDNS, "no-mdns", false, "do not look for peers on the local network")
	f.StringVar(&o.name, "name", "", "your display name (default: keep the stored one)")
	f.StringVar(&o.passphraseFile, "passphrase-file", "",
		"file holding the keystore passphrase (default: $"+passphraseEnv+", else no passphrase)")
	f.StringVar(&o.swarmKeyFile, "swarm-key", "",
		"swarm key file: join the private network of the peers holding the same key (TCP only)")
	f.StringVar(&o.logLevel, "log-level", "warn", "log level: debug, info, warn or error")
	f.StringVar(&o.metrics, "metrics", "",
		"serve Prometheus metrics (libp2p's and the mailbox service's) at http://HOST:PORT/metrics, given as --metrics=`HOST:PORT`; --metrics alone: "+node.DefaultMetricsAddr+" (loopback). Any other host is used as given: anyone who reaches it reads the node's load")
	f.Lookup("metrics").NoOptDefVal = node.DefaultMetricsAddr
	// For benchmarks (bench/files-vs-croc.sh): a CPU profile of the whole
	// run, written when the node stops. Hidden: not a user's concern.
	f.StringVar(&o.cpuProfile, "cpu-profile", "", "write a CPU profile of this run to `FILE` (for benchmarks)")
	_ = f.MarkHidden("cpu-profile")
}

func newRunCmd(g *globals) *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Start your node and serve the web GUI (the default command)",
		Args:  usageArgs(cobra.NoArgs),
		RunE:  func(cmd *cobra.Command, _ []string) error { return runNode(cmd, g, o) },
	}
	addRunFlags(cmd, o)
	return cmd
}

// runNode starts the node and the API, prints the login URL, and serves
// until SIGINT or SIGTERM; then it closes the API (removing api.json) and
// the node, in that order.
func runNode(cmd *cobra.Command, g *globals, o *runOptions) error {
	dir, err := g.dir()
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return usageError{fmt.Errorf("--log-level %q: want debug, info, warn or error", o.logLevel)}
	}
	if err := localapi.CheckAddr(o.api); err != nil {
		return usageError{fmt.Errorf("--api: %w", err)}
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
	pass, err := o.passphrase()
	if err != nil {
		return err
	}
	pass, typed, err := startPassphrase(cmd, dir, pass)
	if err != nil {
		return err
	}
	swarmKey, err := o.swarmKey()
	if err != nil {
		return err
	}
	bootstrap, err := o.bootstrapPeers(dir)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.cpuProfile != "" {
		pf, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			pf.Close()
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			pf.Close()
		}()
	}

	// The flag, when given, holds for this run; without it, --relay-service
	// turns the service on (an always-on public node is what a mailbox
	// needs), else the user's setting ("Hold mail for others") decides.
	mailboxService, mailboxServiceOff := o.relayService, false
	if cmd.Flags().Changed("mailbox-service") {
		mailboxService, mailboxServiceOff = o.mailboxService, !o.mailboxService
	}
	cfg := node.Config{
		DataDir:            dir,
		MailboxService:     mailboxService,
		MailboxServiceOff:  mailboxServiceOff,
		Listen:             o.listen,
		Bootstrap:          bootstrap,
		RelayService:       o.relayService,
		RelayAfterVerdict:  o.relayLate,
		PublicDHT:          o.publicDHT,
		PublicDHTBootstrap: o.publicDHTBoot,
		NATPortMap:         o.natPortMap,
		MDNS:               !o.noMDNS,
		Name:               o.name,
		Passphrase:         pass,
		SwarmKey:           swarmKey,
		MetricsAddr:        o.metrics,
		Logger:             log,
	}
	n, err := node.New(ctx, cfg)
	// A typo typed in the terminal gets two more tries, as sudo gives.
	for try := 1; typed && errors.Is(err, parley.ErrWrongPassphrase) && try < 3; try++ {
		fmt.Fprintln(cmd.ErrOrStderr(), "Wrong passphrase, try again.")
		fd, _ := stdinTerminal(cmd) // typed: stdin is one
		if cfg.Passphrase, err = readHidden(cmd, fd, "Passphrase for "+dir+": "); err != nil {
			return err
		}
		n, err = node.New(ctx, cfg)
	}
	if err != nil {
		return fmt.Errorf("start node: %w", err)
	}
	m := n.Messenger()
	srv, err := localapi.New(localapi.Config{
		Addr:        o.api,
		DataDir:     dir,
		DefaultName: node.DefaultName,
		Messages:    m,
		Groups:      m,
		Files:       m,
		Network:     m,
		Events:      m,
		Keystore:    m,
		Presence:    m,
		Blocks:      m,
		Logger:      log,
	})
	if err != nil {
		return errors.Join(fmt.Errorf("start API: %w", err), n.Close())
	}

	login, err := srv.NewLoginURL()
	if err != nil {
		return errors.Join(err, srv.Close(), n.Close())
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "Parley is running. Open %s\n", login)
	fmt.Fprintf(out, "Peer ID: %s\n", m.Self().PeerID)
	if a := n.MetricsAddr(); a != "" {
		fmt.Fprintf(out, "Metrics: http://%s/metrics\n", a)
	}
	if err := m.Disk().Err(); err != nil {
		fmt.Fprintln(out, err) // "disk full: N MB free; Parley is read-only until space is freed"
	}

	serveErr := srv.Serve(ctx)
	stop() // a second Ctrl-C now kills at once, should closing hang
	return errors.Join(serveErr, srv.Close(), n.Close())
}

// passphrase reads --passphrase-file, else $PARLEY_PASSPHRASE; nil means
// none was given.
func (o *runOptions) passphrase() ([]byte, error) {
	if o.passphraseFile == "" {
		if p := os.Getenv(passphraseEnv); p != "" {
			return []byte(p), nil
		}
		return nil, nil
	}
	return readPassphraseFile(o.passphraseFile)
}

// startPassphrase is the passphrase to start with: the one given, else,
// for a passphrase-protected keystore, one typed in the terminal (typed is
// then true). Without a terminal (a desktop launcher, a service) it says
// how to give one.
func startPassphrase(cmd *cobra.Command, dir string, given []byte) (pass []byte, typed bool, err error) {
	if given != nil {
		return given, false, nil
	}
	sealed, err := identity.Sealed(dir)
	if err != nil || !sealed {
		return nil, false, nil // a new data dir, or a plain keystore: none needed
	}
	fd, ok := stdinTerminal(cmd)
	if !ok {
		return nil, false, fmt.Errorf("%w: the keystore in %s is passphrase-protected and there is no terminal to type it in: give it with --passphrase-file FILE or $%s",
			parley.ErrWrongPassphrase, dir, passphraseEnv)
	}
	pass, err = readHidden(cmd, fd, "Passphrase for "+dir+": ")
	return pass, true, err
}

// swarmKey reads --swarm-key; nil means the open network. The node decodes
// it, so a malformed key gets the node's error.
func (o *runOptions) swarmKey() ([]byte, error) {
	if o.swarmKeyFile == "" {
		return nil, nil
	}
	b, err := os.ReadFile(o.swarmKeyFile)
	if err != nil {
		return nil, fmt.Errorf("swarm key file: %w", err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fmt.Errorf("swarm key file %s is empty", o.swarmKeyFile)
	}
	return b, nil
}

// bootstrapPeers is --bootstrap followed by the peers of the bootstrap
// file: --bootstrap-file, else DATA/bootstrap.txt when it exists.
func (o *runOptions) bootstrapPeers(dir string) ([]string, error) {
	path, named := o.bootstrapFile, o.bootstrapFile != ""
	if !named {
		path = filepath.Join(dir, node.BootstrapFile)
	}
	peers, err := node.ReadBootstrapFile(path)
	if errors.Is(err, fs.ErrNotExist) && !named {
		return o.bootstrap, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bootstrap file: %w", err)
	}
	return append(slices.Clone(o.bootstrap), peers...), nil
}
