/** Values the global setup hands to tests through `inject`. */
declare module 'vitest' {
  export interface ProvidedContext {
    originUrl: string;
    /** The fake Criminal IP (and AbuseIPDB) API, test/support/fake-criminalip.ts. */
    criminalIpUrl: string;
    /** The fake Turnstile siteverify endpoint, test/support/fake-turnstile.ts. */
    turnstileUrl: string;
  }
}

export {};
