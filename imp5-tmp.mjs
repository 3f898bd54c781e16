const t0 = performance.now();
const { loadInventory } = await import('./dist/inventory/load.js');
const t1 = performance.now();
const inv = loadInventory(process.argv[2], { cacheDir: process.argv[3] === 'cache' ? '/tmp/invcache-test' : undefined });
const t2 = performance.now();
console.log(process.argv[3], 'import', (t1-t0).toFixed(0), 'load', (t2-t1).toFixed(0), inv.datacenters.length);
