/**
 * Session slots cannot be hoarded (SPEC §3). Three budgets, each with its reply:
 * - connections per client IP address (counted in this process: the per-certificate cap, counted across
 *   processes in shared-limits.ts, applies once a certificate is shown): above it, 421 at the greeting;
 * - a deadline from connection to the first accepted MAIL FROM (STARTTLS, a trusted client certificate and a
 *   whitelisted sender): a socket that idles, stalls its handshake or keeps failing is closed with 421 long before
 *   the idle timeout;
 * - commands between two accepted messages: every command other than MAIL, RCPT, DATA, BDAT and QUIT, and every
 *   refusal, spends one; an accepted message refills the budget, so a delivering session never meets it.
 * Nothing here touches a message: a session closed by a guard had no transaction in progress that could have
 * been accepted, and the sender's MTA simply retries later. Counters are per process and die with it.
 */
import type { SMTPServer, SMTPServerSession } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { REPLIES, replyText, smtpReject, type SmtpReply, type SmtpReplyError } from './replies.js';

export interface SessionBudgets {
  maxConnectionsPerIp: number;
  authDeadlineMs: number;
  maxCommandsWithoutMessage: number;
}

/** Commands that move a transaction forward (their refusals are counted where they are refused). */
const TRANSACTION_COMMANDS = new Set(['MAIL', 'RCPT', 'DATA', 'BDAT', 'QUIT']);

interface Connection {
  id: string;
  send(code: number, data: unknown, context?: unknown): void;
  close(): void;
  _server: unknown;
}
type CommandHook = (connection: Connection, commandName: string) => boolean;
const HOOK = Symbol('mesgw.commandHook');
let installed = false;

/** Wraps smtp-server's command dispatch once (a private method, confined here) to ask the server's hook first. */
function installCommandHook(): void {
  if (installed) return;
  installed = true;
  const proto = SMTPConnection.prototype as unknown as { _onCommand: (this: Connection, command: Buffer | string, cb?: () => void) => void };
  const original = proto._onCommand;
  proto._onCommand = function onCommand(this: Connection, command, cb) {
    const hook = (this._server as { [HOOK]?: CommandHook })[HOOK];
    const name = (command ?? '').toString().split(' ', 1)[0]!.toUpperCase();
    if (hook && !hook(this, name)) return;
    return original.call(this, command, cb);
  };
}

export class SessionGuard {
  private readonly byIp = new Map<string, number>();
  private readonly counted = new WeakMap<SMTPServerSession, string>();
  private readonly deadlines = new Map<string, NodeJS.Timeout>();
  private readonly spent = new Map<string, number>();

  constructor(
    private readonly server: SMTPServer,
    private readonly budgets: SessionBudgets,
    private readonly onGuardClose: (reply: SmtpReply) => void = () => {},
  ) {
    installCommandHook();
    (server as unknown as { [HOOK]: CommandHook })[HOOK] = (connection, name) => {
      if (!TRANSACTION_COMMANDS.has(name)) this.spend(connection.id);
      if ((this.spent.get(connection.id) ?? 0) <= this.budgets.maxCommandsWithoutMessage) return true;
      this.closeConnection(connection, REPLIES.tooManyCommands);
      return false;
    };
  }

  /** At connection: null to go on, or the refusal when the client's address holds its maximum of sessions. */
  admit(session: SMTPServerSession): SmtpReplyError | null {
    const ip = session.remoteAddress;
    const n = this.byIp.get(ip) ?? 0;
    if (n >= this.budgets.maxConnectionsPerIp) return smtpReject('tooManyConnectionsFromIp');
    this.byIp.set(ip, n + 1);
    this.counted.set(session, ip);
    const timer = setTimeout(() => this.expire(session.id), this.budgets.authDeadlineMs);
    timer.unref();
    this.deadlines.set(session.id, timer);
    return null;
  }

  /** A MAIL FROM was accepted: the session has authenticated, the deadline no longer applies. */
  authenticated(session: SMTPServerSession): void {
    clearTimeout(this.deadlines.get(session.id));
    this.deadlines.delete(session.id);
  }

  /** Counts one command or refusal (the session's next command is refused once the budget is spent). */
  spend(sessionId: string): void {
    this.spent.set(sessionId, (this.spent.get(sessionId) ?? 0) + 1);
  }

  /** A message was accepted: the command budget is full again. */
  messageAccepted(session: SMTPServerSession): void {
    this.spent.delete(session.id);
  }

  /** At close (also for sessions refused at connection). */
  release(session: SMTPServerSession): void {
    this.authenticated(session);
    this.spent.delete(session.id);
    const ip = this.counted.get(session);
    if (ip === undefined) return;
    this.counted.delete(session);
    const n = (this.byIp.get(ip) ?? 1) - 1;
    if (n <= 0) this.byIp.delete(ip);
    else this.byIp.set(ip, n);
  }

  private expire(sessionId: string): void {
    this.deadlines.delete(sessionId);
    const connections = (this.server as unknown as { connections: Set<Connection> }).connections;
    for (const c of connections) if (c.id === sessionId) return this.closeConnection(c, REPLIES.authDeadline);
  }

  private closeConnection(connection: Connection, reply: SmtpReply): void {
    this.onGuardClose(reply);
    connection.send(reply.code, replyText(reply));
    connection.close();
  }
}
