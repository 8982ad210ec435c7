// GPU memory as one figure for unmix and both peers: the live bytes of every buffer a framework
// creates on its device (jax-js exposes no memory figure of its own, and counting the same way for
// all three keeps the comparison fair). Pooled-but-free buffers count: they are held.

/** Starts counting `device`'s buffers; returns a function that gives the live bytes so far. */
export function countBufferBytes(device: GPUDevice): () => number {
  let live = 0;
  const create = device.createBuffer.bind(device);
  device.createBuffer = (desc: GPUBufferDescriptor) => {
    const buffer = create(desc);
    live += buffer.size;
    const destroy = buffer.destroy.bind(buffer);
    let destroyed = false;
    buffer.destroy = () => {
      if (!destroyed) live -= buffer.size;
      destroyed = true;
      destroy();
    };
    return buffer;
  };
  return () => live;
}
