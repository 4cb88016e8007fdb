package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/parley-im/parley/gui/apitype"
	"github.com/parley-im/parley/gui/client"
)

// newSettingsCmd shows the settings and changes them.
func newSettingsCmd(g *globals) *cobra.Command {
	var autoAccept, publicDHT, mailboxService, typingInd, lastSeen, readReceipts string
	cmd := viewCmd(g, &cobra.Command{
		Use:   "settings",
		Short: "Show your settings; --auto-accept SIZE, --public-dht, --mailbox-service, --typing, --last-seen and --read-receipts on|off change them",
		Long: `Show your settings, or change them:

  --auto-accept SIZE   fetch files from contacts up to SIZE without asking
                       (25MB, 1.5GB, 4096...; KB, MB and GB count 1024s);
                       0 or "never": always ask (parley file get ID)
  --public-dht on|off  also use the public IPFS DHT to find contacts and be
                       found by them on other networks: it reaches beyond
                       your own networks, and publishes there only a key
                       hashed from your peer ID (with your addresses).
                       Applies at once and after restarts; not with a
                       swarm key. (parley run --public-dht turns it on for
                       that run whatever is set here.)
  --mailbox-service on|off
                       hold mail for others: people who choose this node
                       as their mailbox get their mail here while they are
                       offline (for an always-on node). Applies at once and
                       after restarts, unless parley run was given
                       --mailbox-service or --relay-service, which decide
                       for that run.
  --typing on|off      typing indicators: tell contacts and group members
                       when you type, and see when they do. Off: neither.
  --last-seen on|off   share when you were last online with your contacts,
                       and see theirs. Off: neither (who hides theirs sees
                       no one's).
  --read-receipts on|off
                       tell contacts and group members when you read their
                       messages (on by default); off, they see only that
                       your node got them. What others send is still shown.`,
		Args: usageArgs(cobra.MatchAll(cobra.NoArgs, func(*cobra.Command, []string) error {
			if publicDHT != "" {
				if _, err := parseOnOff(publicDHT); err != nil {
					return fmt.Errorf("--public-dht: %w", err)
				}
			}
			if mailboxService != "" {
				if _, err := parseOnOff(mailboxService); err != nil {
					return fmt.Errorf("--mailbox-service: %w", err)
				}
			}
			if err := checkPresenceFlags(typingInd, lastSeen); err != nil {
				return err
			}
			if readReceipts != "" {
				if _, err := parseOnOff(readReceipts); err != nil {
					return fmt.Errorf("--read-receipts: %w", err)
				}
			}
			if autoAccept == "" {
				return nil
			}
			_, err := parseSize(autoAccept)
			return err
		})),
	}, func(ctx context.Context, c *client.Client, _ []string) (client.SettingsView, error) {
		if autoAccept == "" && publicDHT == "" && mailboxService == "" && typingInd == "" && lastSeen == "" && readReceipts == "" {
			return c.Settings(ctx)
		}
		// Checked with the arguments; one request changes them all.
		var req apitype.SettingsRequest
		if autoAccept != "" {
			limit, _ := parseSize(autoAccept)
			req.AutoAcceptBytes = &limit
		}
		if publicDHT != "" {
			on, _ := parseOnOff(publicDHT)
			req.PublicDHT = &on
		}
		if mailboxService != "" {
			on, _ := parseOnOff(mailboxService)
			req.MailboxService = &on
		}
		presenceRequest(&req, typingInd, lastSeen)
		if readReceipts != "" {
			on, _ := parseOnOff(readReceipts)
			req.ReadReceipts = &on
		}
		return c.ChangeSettings(ctx, req)
	}, printSettings)
	cmd.Flags().StringVar(&autoAccept, "auto-accept", "", "fetch files from contacts up to `SIZE` without asking; 0: always ask")
	cmd.Flags().StringVar(&publicDHT, "public-dht", "", "turn the public IPFS DHT `on|off`, now and after restarts: it finds contacts on other networks")
	cmd.Flags().StringVar(&mailboxService, "mailbox-service", "", "hold mail for others `on|off`, now and after restarts: for an always-on node")
	presenceFlags(cmd, &typingInd, &lastSeen)
	cmd.Flags().StringVar(&readReceipts, "read-receipts", "", "send read receipts `on|off`, now and after restarts")
	return cmd
}

// parseOnOff reads a switch's value: on or off.
func parseOnOff(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	return false, fmt.Errorf("%q: want on or off", s)
}
