import { decodeMessage, type DecodedMessage } from '../dns/decode.js';
import type { Edns, ParsedQuery } from '../dns/query.js';
import { typeName } from '../dns/types.js';
import type { Remote, Request, ResponseInfo } from '../plugin.js';

/** The server's implementation of the plugin-facing `Request`. */
export class QueryRequest implements Request {
  readonly id: number;
  readonly qname: string;
  readonly name: string;
  readonly qtype: number;
  readonly qclass: number;
  readonly rd: boolean;
  readonly cd: boolean;
  readonly do: boolean;
  readonly edns: Edns | null;
  readonly qnameEnd: number;
  readonly questionEnd: number;
  readonly opcode: number;
  private listeners: ((info: ResponseInfo) => void)[] | undefined;
  private decoded: DecodedMessage | undefined;
  private typeText: string | undefined;

  constructor(
    q: ParsedQuery,
    readonly raw: Buffer,
    readonly transport: 'udp' | 'tcp',
    readonly remote: Remote,
    readonly maxSize: number,
    readonly receivedAt: number,
  ) {
    this.id = q.id;
    this.qname = q.qname;
    this.name = q.name;
    this.qtype = q.qtype;
    this.qclass = q.qclass;
    this.rd = q.rd;
    this.cd = q.cd;
    this.edns = q.edns;
    this.do = q.edns?.do ?? false;
    this.qnameEnd = q.qnameEnd;
    this.questionEnd = q.questionEnd;
    this.opcode = q.opcode;
  }

  /** The type's mnemonic, looked up only when a plugin asks (log, metrics). */
  get type(): string {
    return (this.typeText ??= typeName(this.qtype));
  }

  decode(): DecodedMessage {
    return (this.decoded ??= decodeMessage(this.raw));
  }

  onResponse(fn: (info: ResponseInfo) => void): void {
    (this.listeners ??= []).push(fn);
  }

  /** Whether any plugin asked to see the reply (the server skips building it otherwise). */
  get watched(): boolean {
    return this.listeners !== undefined;
  }

  /** Called once by the server after writing (or dropping) the reply. */
  responded(info: ResponseInfo, onError: (err: unknown) => void): void {
    if (!this.listeners) return;
    for (const fn of this.listeners) {
      try {
        fn(info);
      } catch (err) {
        onError(err);
      }
    }
  }
}
