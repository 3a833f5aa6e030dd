// Sync vs async rasterize, 1 and 2 threads, reused out of 64 and 320 images: images/s and cores used.
// Run: node bench/async_vs_sync.mjs (after npx tsc -p tsconfig.json)
import { rasterize, rasterizeAsync } from '../dist/index.js';
const n=10000; const o=new Float64Array(n),h=new Float64Array(n),l=new Float64Array(n),c=new Float64Array(n);
let p=100; for(let i=0;i<n;i++){o[i]=p;p*=Math.exp(Math.sin(i*7.3)*0.01);c[i]=p;h[i]=Math.max(o[i],c[i])*1.003;l[i]=Math.min(o[i],c[i])*0.997;}
const C={open:o,high:h,low:l,close:c};
for (const batch of [64, 320]) {
const out=new Uint8Array(batch*200000);
for (const mode of ['sync','async','sync']) for (const threads of [1,2]) {
  const r0=process.cpuUsage(); const t0=performance.now(); let imgs=0;
  while (performance.now()-t0 < 700) { const starts=Int32Array.from({length:batch},(_,i)=>(imgs+i)%9000); if(mode==='sync') rasterize(C,{seqLen:100,height:500,starts,out,threads}); else await rasterizeAsync(C,{seqLen:100,height:500,starts,out,threads}); imgs+=batch; }
  const wall=(performance.now()-t0)/1000; const cpu=process.cpuUsage(r0); 
  console.log(batch, mode, threads, Math.round(imgs/wall), 'img/s cores', ((cpu.user+cpu.system)/1e6/wall).toFixed(2));
}}
