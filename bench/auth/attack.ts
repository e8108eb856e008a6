/**
 * Child process of `bench/auth.ts`: runs the token attack and prints its result as JSON, so the 300
 * attacking connections never share the metadata plane's event loop (as a real attacker would not).
 * Argument: JSON `{ url, clientId, clientSecret, attackers }`.
 */
import { runTokenAttack } from '@slate/metadata-plane';

const options = JSON.parse(process.argv[2] ?? '{}') as Parameters<typeof runTokenAttack>[0];
process.stdout.write(JSON.stringify(await runTokenAttack(options)));
