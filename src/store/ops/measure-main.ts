// `node measure-main.js REPO TREE`: measures a tree (sizes.ts), records it in the repo's index
// and prints it as JSON. A mount daemon runs it for a commit whose size nobody recorded (ostree
// or a pull wrote it): the walk reads every dirtree of the commit, and run in the daemon it left
// tens of MB behind in the daemon's heap for the mount's life. Here it goes when the process does.
import { Repo } from '../repo.js';
import { SizeReader } from './sizes.js';

const [repoPath, tree] = process.argv.slice(2);
const repo = Repo.open(repoPath!);
try {
  process.stdout.write(`${JSON.stringify(await new SizeReader(repo).tree(tree!))}\n`);
} finally {
  repo.close();
}
