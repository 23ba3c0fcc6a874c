import type { Argv } from 'yargs';
import { LivePortError, LiveServer } from '../../live/index.js';
import { readRunStatus } from '../../live/queries.js';
import { getRun } from '../../record/index.js';
import { DB_OPTION, openRunsDb, runIdArg } from '../run-db.js';
import { livePort } from '../live.js';
import { UsageError, defaultDbPath } from '../util.js';

export function watchCommand(y: Argv): Argv {
  return y.command(
    'watch <run>',
    'Serve a live view of a run in progress (read from the run database) until it ends',
    (a) => a
      .positional('run', { type: 'string', describe: 'run id, or last' })
      .option('port', { type: 'string', default: '0', describe: 'TCP port on 127.0.0.1 (0: a free one; the address is printed)' })
      .option('db', DB_OPTION)
      .example('$0 watch last', 'watch the newest run (say, a rhil train started in another terminal)')
      .epilogue('The database is only read: the recording process is never slowed or blocked. Ctrl-C stops watching, not the run.'),
    async (args) => {
      const dbPath = args.db ?? defaultDbPath();
      const port = livePort(args.port, '--port');
      const db = openRunsDb(dbPath);
      let id: number;
      let status: string | null;
      try {
        id = runIdArg(db, dbPath, args.run);
        status = readRunStatus(db, id);
        if (status !== 'running') {
          const run = getRun(db, id)!;
          throw new UsageError(`run ${id} is ${status === run.status ? status : `${run.status} (its writer is gone)`}, not running; rhil report ${id} draws it`);
        }
      } finally {
        db.close();
      }
      let live: LiveServer;
      try {
        live = await LiveServer.listen({ port });
      } catch (e) {
        throw e instanceof LivePortError ? new UsageError(`--port ${port}: ${e.message}`) : e;
      }
      live.attach(dbPath, id);
      process.stderr.write(`live view of run ${id}: ${live.url} (until the run ends; Ctrl-C stops watching)\n`);
      const stop = () => { void live.close(); };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        live.closeWhenRunEnds();
        await live.ended;
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
      const db2 = openRunsDb(dbPath);
      try {
        process.stderr.write(`run ${id} ${readRunStatus(db2, id) ?? 'gone'}\n`);
      } finally {
        db2.close();
      }
    },
  );
}
