/**
 * smtp-server builds some replies itself (protocol errors, SIZE at MAIL FROM, timeouts) and, with
 * ENHANCEDSTATUSCODES on, prefixes every reply with an enhanced code it guesses from the reply code alone.
 * This adapter (applied once, at import) makes both follow our reply table: a reply text that already starts
 * with an enhanced code is sent as is, and the library's own refusals are rewritten to carry our enhanced code
 * and a searchable suffix. It changes only reply texts, never the protocol state machine.
 */
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { REPLIES, replyText, type SmtpReply } from './replies.js';

const HAS_ENHANCED = /^[245]\.\d{1,3}\.\d{1,3} /;

const RULES: { test: RegExp; reply: SmtpReply; keepCode?: boolean }[] = [
  { test: /exceeds fixed maximum message size/i, reply: REPLIES.messageTooBig },
  { test: /Must issue a STARTTLS/i, reply: REPLIES.starttlsRequired },
  { test: /too many connected clients|too many connections/i, reply: REPLIES.tooManyConnections },
  { test: /timeout/i, reply: REPLIES.timeout },
  { test: /shutting down|closing connection/i, reply: REPLIES.shuttingDown, keepCode: true },
  { test: /first|nested|need (MAIL|RCPT)|Bad sequence|No valid recipients/i, reply: REPLIES.badSequence },
  { test: /not recognized|unrecognized command/i, reply: REPLIES.unknownCommand },
  { test: /syntax|invalid|bad /i, reply: REPLIES.syntaxError },
];

type Send = (this: unknown, code: number, data: unknown, context?: unknown) => void;

let applied = false;

export function applyLibraryReplyPolicy(): void {
  if (applied) return;
  applied = true;
  const proto = SMTPConnection.prototype as unknown as { send: Send };
  const original = proto.send;
  proto.send = function send(this: unknown, code: number, data: unknown, context?: unknown) {
    if (typeof data === 'string' && HAS_ENHANCED.test(data)) return original.call(this, code, data, false);
    if (code >= 400 && typeof data === 'string') {
      const rule = RULES.find((x) => x.test.test(data));
      if (rule) {
        const replyCode = rule.keepCode ? code : rule.reply.code;
        return original.call(this, replyCode, replyText(rule.reply), false);
      }
      return original.call(this, code, `${data} [${REPLIES.protocolOther.suffix}]`, context);
    }
    return original.call(this, code, data, context);
  };
}
