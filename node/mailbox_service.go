package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/node/mailbox"
)

// The mailbox service ("Hold mail for others"): this node holds mail for
// people who register with it (node/mailbox, PROTOCOL.md §9). The user's
// setting in settings.json turns it on and off at runtime; a `parley run`
// flag (Config.MailboxService, MailboxServiceOff) fixes it for the run.
// Turning it off stops serving at once; the mail held stays on disk, under
// its TTL, and is served again when it is turned back on.

// startMailboxService builds and starts the service from n.mbConfig.
func (n *Node) startMailboxService() (*mailbox.Service, error) {
	svc, err := mailbox.New(n.mbConfig)
	if err != nil {
		return nil, err
	}
	if err := svc.Start(); err != nil {
		return nil, errors.Join(err, svc.Close())
	}
	if n.metrics != nil {
		if err := n.metrics.reg.Register(svc.Collector()); err != nil {
			return nil, errors.Join(err, svc.Close())
		}
	}
	return svc, nil
}

// SetMailboxService starts (on) or stops the mailbox service, now and
// after restarts. parley.ErrSetAtStart when a `parley run` flag set it for
// this run. The running state and settings.json agree on return.
func (m *Messenger) SetMailboxService(ctx context.Context, on bool) (parley.Settings, error) {
	n := m.node()
	if n.mbAtStart {
		return parley.Settings{}, fmt.Errorf("hold mail for others: %w: `parley run --mailbox-service` (or --relay-service) decides for this run", parley.ErrSetAtStart)
	}
	n.settingsMu.Lock()
	defer n.settingsMu.Unlock()
	if n.ctx.Err() != nil {
		return parley.Settings{}, errors.New("node: closed")
	}
	s, err := loadSettings(n.dataDir)
	if err != nil {
		return parley.Settings{}, err
	}
	s.MailboxService = &on
	if on && n.mailbox.Load() == nil {
		svc, err := n.startMailboxService()
		if err != nil {
			return parley.Settings{}, err
		}
		if err := saveSettings(n.dataDir, s); err != nil {
			return parley.Settings{}, errors.Join(err, svc.Close())
		}
		n.mailbox.Store(svc)
		n.log.Info("the mailbox service is on")
		return m.Settings(ctx), nil
	}
	if err := saveSettings(n.dataDir, s); err != nil {
		return parley.Settings{}, err
	}
	if svc := n.mailbox.Load(); !on && svc != nil {
		n.mailbox.Store(nil)
		if n.metrics != nil {
			n.metrics.reg.Unregister(svc.Collector())
		}
		if err := svc.Close(); err != nil {
			n.log.Warn("stopping the mailbox service", "err", err)
		}
		n.log.Info("the mailbox service is off")
	}
	return m.Settings(ctx), nil
}
