// The part of oidc-provider (a test-only dependency, shipped without types) that the OIDC suite uses.
declare module 'oidc-provider' {
  import type { Server } from 'node:http';

  interface Account {
    accountId: string;
    claims(): Promise<Record<string, unknown>>;
  }

  export default class Provider {
    constructor(
      issuer: string,
      configuration: {
        clients: Record<string, unknown>[];
        claims?: Record<string, string[]>;
        findAccount?: (ctx: unknown, id: string) => Promise<Account | undefined>;
        cookies?: { keys: string[] };
        [key: string]: unknown;
      },
    );
    listen(port: number): Server;
  }
}
