/** Values the global setup hands to tests through `inject`. */
declare module 'vitest' {
  export interface ProvidedContext {
    originUrl: string;
  }
}

export {};
