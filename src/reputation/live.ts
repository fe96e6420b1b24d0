/**
 * Live reputation for IPs the table does not know, as the Worker sees it: the API cache in KV
 * first, then the broker Durable Object (./broker.ts), all within the policy's deadline.
 *
 * Each isolate remembers what it asked for LIVE_ISOLATE_MEMO_MS (shorter for refusals), and
 * shares one question among concurrent requests for the same client key, so a flood from one
 * IP costs at most one cache read and one broker call per isolate. What is not answered in time
 * is `timeout` (the question goes on in the background and its answer is remembered), and what
 * cannot be answered at all (no key, provider off, circuit open, busy) is `unavailable`; the
 * policy's `unknown` action decides both. Nothing here throws.
 *
 * Nothing here waits without end either. A cache read that does not answer within
 * LIVE_CACHE_READ_DEADLINE_MS is skipped and the broker asked (at worst one API call the cache
 * could have saved), so a hung KV does not switch live lookups off; and a question that has no
 * answer after LIVE_ANSWER_MAX_MS (a broker that never replies) is given up as `unavailable`,
 * so it neither keeps background work open nor pins its IP to `timeout` in this isolate.
 */
import {
  LIVE_ANSWER_MAX_MS,
  LIVE_BACKOFF_MS,
  LIVE_BROKER_NAME_PREFIX,
  LIVE_CACHE_READ_DEADLINE_MS,
  LIVE_ISOLATE_MEMO_MAX,
  LIVE_ISOLATE_MEMO_MS,
  LIVE_STATUS_DEADLINE_MS,
} from '../constants';
import type { Env, WaitUntil } from '../env';
import { clientKey, type IpAddress } from '../ip/parse';
import type { Reputation } from '../policy/decide';
import type { ProviderName } from '../providers/types';
import { publicAddressProblem } from '../providers/types';
import { errorMessage, TIMED_OUT, withDeadline } from '../util/deadline';
import { readApiCache } from './api-cache';
import { type BrokerSettings, type BrokerStatus, providerCredentials } from './broker';

export interface LiveSettings {
  provider: 'off' | ProviderName;
  deadlineMs: number;
  concurrency: number;
  dailyBudget: number;
}

export interface LiveOptions {
  now?: () => number;
  /** Suffix of the broker's name, so tests can use a broker of their own. */
  brokerName?: string;
  /** Longest a question may go unanswered before it is given up (default LIVE_ANSWER_MAX_MS). */
  answerMaxMs?: number;
}

interface Memo {
  answer: Promise<Reputation>;
  /**
   * Epoch ms after which the isolate asks again; while the answer is pending, the time it is
   * given up on (so a promise that never settles cannot pin the IP).
   */
  until: number;
}

export class LiveReputation {
  private readonly memo = new Map<string, Memo>();
  private readonly now: () => number;
  private readonly brokerName: string;
  private readonly answerMaxMs: number;

  constructor(options: LiveOptions = {}) {
    this.now = options.now ?? Date.now;
    this.brokerName = options.brokerName ?? '';
    this.answerMaxMs = options.answerMaxMs ?? LIVE_ANSWER_MAX_MS;
  }

  /** Whether live lookups can run at all for this env and settings (no KV read, no call). */
  enabled(env: Env, settings: LiveSettings): settings is LiveSettings & { provider: ProviderName } {
    return (
      settings.provider !== 'off' &&
      env.REPUTATION_BROKER !== undefined &&
      Boolean(providerCredentials(env, settings.provider).apiKey)
    );
  }

  async lookup(
    ip: IpAddress,
    env: Env,
    settings: LiveSettings,
    waitUntil: WaitUntil['waitUntil'],
  ): Promise<Reputation> {
    if (!this.enabled(env, settings))
      return {
        status: 'unavailable',
        error:
          settings.provider === 'off' ? 'live lookups are off' : 'no API key or broker binding',
      };
    if (publicAddressProblem(ip)) return { status: 'miss' };
    const key = `${settings.provider}:${clientKey(ip)}`;
    const now = this.now();
    let memo = this.memo.get(key);
    if (!memo || memo.until <= now) {
      memo = this.ask(ip, env, settings);
      this.remember(key, memo);
    }
    const answer = await withDeadline(memo.answer, settings.deadlineMs);
    if (answer !== TIMED_OUT) return answer;
    waitUntil(memo.answer);
    return { status: 'timeout' };
  }

  private ask(ip: IpAddress, env: Env, settings: LiveSettings & { provider: ProviderName }): Memo {
    const memo: Memo = {
      answer: Promise.resolve({ status: 'skipped' }),
      until: this.now() + this.answerMaxMs,
    };
    memo.answer = withDeadline(this.fetchAnswer(ip, env, settings), this.answerMaxMs).then(
      (answered) => {
        const r: Reputation =
          answered === TIMED_OUT
            ? { status: 'unavailable', error: `broker: no answer within ${this.answerMaxMs} ms` }
            : answered;
        memo.until = this.now() + (r.status === 'hit' ? LIVE_ISOLATE_MEMO_MS : LIVE_BACKOFF_MS);
        return r;
      },
    );
    return memo;
  }

  private async fetchAnswer(
    ip: IpAddress,
    env: Env,
    settings: LiveSettings & { provider: ProviderName },
  ): Promise<Reputation> {
    try {
      const cached = await withDeadline(
        readApiCache(env.REPUTATION, settings.provider, ip),
        LIVE_CACHE_READ_DEADLINE_MS,
      );
      if (cached !== TIMED_OUT && cached) return { status: 'hit', record: cached };
    } catch {
      // A KV failure only skips the cache; the broker may still answer.
    }
    try {
      const stub = this.stub(env, settings.provider);
      const { apiKey = '', baseUrl } = providerCredentials(env, settings.provider);
      const brokerSettings: BrokerSettings = {
        provider: settings.provider,
        concurrency: settings.concurrency,
        dailyBudget: settings.dailyBudget,
        apiKey,
        baseUrl: baseUrl || undefined,
      };
      const answer = await stub.lookup(ip.text, brokerSettings);
      return answer.status === 'hit'
        ? { status: 'hit', record: answer.record }
        : { status: 'unavailable', error: `${answer.why}: ${answer.detail}` };
    } catch (e) {
      return { status: 'unavailable', error: `broker: ${errorMessage(e)}` };
    }
  }

  /** What the broker reports (breaker, budget, queue), for health; null when live is off. */
  async brokerStatus(
    env: Env,
    settings: LiveSettings,
  ): Promise<BrokerStatus | { error: string } | null> {
    if (!this.enabled(env, settings)) return null;
    try {
      const status = await withDeadline(
        this.stub(env, settings.provider).status(),
        LIVE_STATUS_DEADLINE_MS,
      );
      return status === TIMED_OUT ? { error: 'broker did not answer in time' } : status;
    } catch (e) {
      return { error: `broker: ${errorMessage(e)}` };
    }
  }

  private stub(env: Env, provider: ProviderName) {
    const ns = env.REPUTATION_BROKER;
    if (!ns) throw new Error('no broker binding');
    return ns.get(ns.idFromName(`${LIVE_BROKER_NAME_PREFIX}${provider}${this.brokerName}`));
  }

  /** Remembers a question, dropping the oldest when the isolate holds too many. */
  private remember(key: string, memo: Memo): void {
    this.memo.delete(key);
    this.memo.set(key, memo);
    while (this.memo.size > LIVE_ISOLATE_MEMO_MAX) {
      const oldest = this.memo.keys().next().value;
      if (oldest === undefined) break;
      this.memo.delete(oldest);
    }
  }
}
