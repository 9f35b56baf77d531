// The units layer's pixels, off the page's main thread: the layer hands this worker its canvas
// once (an OffscreenCanvas) and then one frame at a time; turning thousands of units into
// pixels here leaves the page's thread free for the dispatcher's clicks and the socket.
import { createPainter } from './unitsPainter.js';

const paint = createPainter();
let canvas = null;
let context = null;

self.onmessage = ({ data }) => {
  if (data.canvas) {
    canvas = data.canvas;
    context = canvas.getContext('2d');
  }
  if (data.size) {
    canvas.width = data.size.width;
    canvas.height = data.size.height;
  }
  if (data.frame) paint(context, data.frame);
  if (data.pixel) {
    // the browser tests ask whether a point of the layer is drawn
    const [x, y] = data.pixel;
    self.postMessage({ pixel: Array.from(context.getImageData(x, y, 1, 1).data), id: data.id });
  }
};
