/** Lifetime of an exchanged access token, as Chalk's token endpoint (chalk.md §3.2). */
export const ACCESS_TOKEN_TTL_SECONDS = 3600;
