package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/client"
)

// groupArgHelp says what GROUP, CONTACT and MEMBER may be, for the Long
// help of the group commands.
const groupArgHelp = `GROUP is a group's name or, where two groups share a name, its ID (see
"parley group list"). CONTACT and MEMBER are a name or a peer ID.`

func newGroupCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "group",
		Short: "Create groups, invite contacts, talk in groups",
		Long:  "Create groups, invite contacts, talk in groups.\n\n" + groupArgHelp,
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			return usageError{errors.New("group needs a subcommand: " +
				"create, list, invites, invite, accept, decline, members, remove, role, rename, history, leave, send or messages")}
		},
	}
	cmd.AddCommand(
		newGroupCreateCmd(g),
		newGroupListCmd(g),
		newGroupInvitesCmd(g),
		newGroupInviteCmd(g),
		newGroupAcceptCmd(g),
		newGroupDeclineCmd(g),
		newGroupMembersCmd(g),
		newGroupRemoveCmd(g),
		newGroupRoleCmd(g),
		newGroupRenameCmd(g),
		newGroupHistoryCmd(g),
		newGroupLeaveCmd(g),
		newGroupSendCmd(g),
		newGroupMessagesCmd(g),
	)
	return cmd
}

// newGroupCreateCmd prints only the new group's ID, for scripts:
// G=$(parley group create team); parley group invite "$G" bob.
func newGroupCreateCmd(g *globals) *cobra.Command {
	var history string
	cmd := viewCmd(g, &cobra.Command{
		Use:   "create NAME",
		Short: "Start a group with you as its admin; prints its ID",
		Long:  "Start a group with you as its admin; prints its ID.\n\n" + historyHelp,
		Args:  usageArgs(cobra.ExactArgs(1)),
	}, func(ctx context.Context, c *client.Client, args []string) (client.GroupView, error) {
		h, err := parseHistory(history)
		if err != nil {
			return client.GroupView{}, err
		}
		return c.CreateGroup(ctx, args[0], h)
	}, func(w io.Writer, gv client.GroupView) error {
		_, err := fmt.Fprintln(w, gv.ID)
		return err
	})
	cmd.Flags().StringVar(&history, "history", string(parley.HistoryHidden), "what members added later read: hidden (from when they join) or shared (the earlier messages too)")
	return cmd
}

// historyHelp explains a group's history setting.
const historyHelp = `History: in a group whose history is "hidden" (the default), members read
what is written while they are members: someone added later starts from when
they joined, and a member removed and added again does not read what was
written in between. "shared" lets members added later read the earlier
messages too. The members' nodes enforce it, not cryptography: a member can
always pass on what they read.`

func parseHistory(s string) (parley.GroupHistory, error) {
	h, err := parley.ParseGroupHistory(s)
	if err != nil {
		return "", usageError{err}
	}
	return h, nil
}

func newGroupHistoryCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "history GROUP hidden|shared",
		Short: "Set whether members added later read the earlier messages (admins only)",
		Long:  "Set whether members added later read the earlier messages (admins only).\n\n" + historyHelp + "\n\n" + groupArgHelp,
		Args:  usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := parseHistory(args[1])
			if err != nil {
				return err
			}
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				gv, err := c.SetGroupHistory(ctx, args[0], h)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", gv.Name, historyLine(gv.History))
				return err
			})
		},
	}
}

// joinedHistory says what a new member reads.
func joinedHistory(h parley.GroupHistory) string {
	if h == parley.HistoryShared {
		return "you read its earlier messages too"
	}
	return "you read what is written from now on"
}

// historyLine says what a history setting means to a member.
func historyLine(h parley.GroupHistory) string {
	if h == parley.HistoryShared {
		return "members added later read the earlier messages too"
	}
	return "members read what is written while they are members"
}

func newGroupListCmd(g *globals) *cobra.Command {
	return viewCmd(g, &cobra.Command{
		Use:   "list",
		Short: "List your groups, including those you left",
		Args:  usageArgs(cobra.NoArgs),
	}, func(ctx context.Context, c *client.Client, _ []string) ([]client.GroupView, error) {
		return c.Groups(ctx)
	}, printGroups)
}

func newGroupInvitesCmd(g *globals) *cobra.Command {
	return viewCmd(g, &cobra.Command{
		Use:   "invites",
		Short: "List groups you are invited to (answer with group accept or decline)",
		Args:  usageArgs(cobra.NoArgs),
	}, func(ctx context.Context, c *client.Client, _ []string) ([]client.GroupView, error) {
		return c.GroupInvites(ctx)
	}, printGroupInvites)
}

func newGroupInviteCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "invite GROUP CONTACT",
		Short: "Invite a contact to a group (admins only)",
		Long:  "Invite a contact to a group (admins only).\n\n" + groupArgHelp,
		Args:  usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				m, err := c.InviteToGroup(ctx, args[0], args[1])
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "Invited %s (%s) to %s\n", orDash(m.Name), m.PeerID, args[0])
				return err
			})
		},
	}
}

func newGroupAcceptCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "accept GROUP",
		Short: "Join a group you are invited to",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				gv, err := c.AcceptGroup(ctx, args[0])
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "Joined %s (%s); %s\n", gv.Name, plural(gv.Members, "member"), joinedHistory(gv.History))
				return err
			})
		},
	}
}

// groupActionCmd is a group command that takes arguments, answers nothing
// and prints done(args) when it worked.
func groupActionCmd(g *globals, cmd *cobra.Command,
	act func(ctx context.Context, c *client.Client, args []string) error,
	done func(args []string) string,
) *cobra.Command {
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return g.call(cmd, func(ctx context.Context, c *client.Client) error {
			if err := act(ctx, c, args); err != nil {
				return err
			}
			_, err := fmt.Fprintln(cmd.OutOrStdout(), done(args))
			return err
		})
	}
	return cmd
}

func newGroupDeclineCmd(g *globals) *cobra.Command {
	return groupActionCmd(g, &cobra.Command{
		Use:   "decline GROUP",
		Short: "Turn down an invitation to a group",
		Args:  usageArgs(cobra.ExactArgs(1)),
	}, func(ctx context.Context, c *client.Client, args []string) error {
		return c.DeclineGroup(ctx, args[0])
	}, func(args []string) string { return "Declined " + args[0] })
}

func newGroupMembersCmd(g *globals) *cobra.Command {
	return viewCmd(g, &cobra.Command{
		Use:   "members GROUP",
		Short: "List a group's members, admins first",
		Args:  usageArgs(cobra.ExactArgs(1)),
	}, func(ctx context.Context, c *client.Client, args []string) ([]client.GroupMemberView, error) {
		return c.GroupMembers(ctx, args[0])
	}, printGroupMembers)
}

func newGroupRemoveCmd(g *globals) *cobra.Command {
	return groupActionCmd(g, &cobra.Command{
		Use:   "remove GROUP MEMBER",
		Short: "Remove a member from a group (admins only); they read nothing sent after",
		Long: "Remove a member from a group (admins only). The group moves to new keys,\n" +
			"so the member reads nothing sent after.\n\n" + groupArgHelp,
		Args: usageArgs(cobra.ExactArgs(2)),
	}, func(ctx context.Context, c *client.Client, args []string) error {
		return c.RemoveFromGroup(ctx, args[0], args[1])
	}, func(args []string) string { return "Removed " + args[1] + " from " + args[0] })
}

// newGroupRoleCmd checks the role word before calling the node, as other
// commands check their flags: a typo is a usage error, not a request.
func newGroupRoleCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "role GROUP MEMBER admin|member",
		Short: "Make a member an admin, or an admin a plain member (admins only)",
		Long: "Make a member an admin, or an admin a plain member (admins only). Admins\n" +
			"invite, remove, rename the group and change roles. You may step down\n" +
			"yourself; the last admin stepping down leaves a group no one can add to.\n\n" +
			groupArgHelp,
		Args: usageArgs(cobra.MatchAll(cobra.ExactArgs(3), func(_ *cobra.Command, args []string) error {
			if r := parley.Role(args[2]); r != parley.RoleAdmin && r != parley.RoleMember {
				return fmt.Errorf("role must be admin or member, not %q", args[2])
			}
			return nil
		})),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				m, err := c.SetGroupRole(ctx, args[0], args[1], parley.Role(args[2]))
				if err != nil {
					return err
				}
				article := "a"
				if m.Role == parley.RoleAdmin {
					article = "an"
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s (%s) is now %s %s of %s\n",
					orDash(m.Name), m.PeerID, article, m.Role, args[0])
				return err
			})
		},
	}
}

func newGroupRenameCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "rename GROUP NAME",
		Short: "Rename a group for every member (admins only)",
		Long:  "Rename a group for every member (admins only).\n\n" + groupArgHelp,
		Args:  usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				gv, err := c.RenameGroup(ctx, args[0], args[1])
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "Renamed %s to %s\n", args[0], gv.Name)
				return err
			})
		},
	}
}

func newGroupLeaveCmd(g *globals) *cobra.Command {
	return groupActionCmd(g, &cobra.Command{
		Use:   "leave GROUP",
		Short: "Leave a group; its history stays readable here",
		Args:  usageArgs(cobra.ExactArgs(1)),
	}, func(ctx context.Context, c *client.Client, args []string) error {
		return c.LeaveGroup(ctx, args[0])
	}, func(args []string) string { return "Left " + args[0] })
}

func newGroupSendCmd(g *globals) *cobra.Command {
	return viewCmd(g, &cobra.Command{
		Use:   "send GROUP TEXT...",
		Short: "Send a message to a group",
		Long: `Send a message to a group. The words after the group are joined with
spaces, so quoting the text is optional. The message is queued at once and
delivered to each member when they are reachable; parley prints its status
and ID (--json: the whole message).

` + groupArgHelp,
		Args: usageArgs(cobra.MinimumNArgs(2)),
	}, func(ctx context.Context, c *client.Client, args []string) (client.MessageView, error) {
		return c.SendToGroup(ctx, args[0], strings.Join(args[1:], " "))
	}, printSent)
}

func newGroupMessagesCmd(g *globals) *cobra.Command {
	var limit int
	cmd := viewCmd(g, &cobra.Command{
		Use:   "messages GROUP",
		Short: "Show a group's conversation and mark it read",
		// Flags are parsed before arguments are checked.
		Args: usageArgs(cobra.MatchAll(cobra.ExactArgs(1), func(*cobra.Command, []string) error {
			if limit < 0 {
				return errors.New("--limit must be 0 (all) or more")
			}
			return nil
		})),
	}, func(ctx context.Context, c *client.Client, args []string) ([]client.MessageView, error) {
		return c.GroupMessages(ctx, args[0], parley.Page{Limit: limit}, true)
	}, printMessages)
	cmd.Flags().IntVar(&limit, "limit", 50, "show the last N messages; 0 for all")
	return cmd
}
