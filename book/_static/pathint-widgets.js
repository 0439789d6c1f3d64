/* Loaded between require.js and the widget manager (embed-amd.js) on every page that
   shows ipywidgets, so that the manager works from the book's own files, offline. */
(function () {
  "use strict";

  // The manager asks for its icon fonts relative to the AMD address of its module
  // "@jupyter-widgets/html-manager/dist/libembed-amd", which require.js would put next
  // to the page. Map that module to the folder holding embed-amd.js and the fonts.
  var here = document.currentScript && document.currentScript.src;
  if (here && window.require && typeof window.require.config === "function") {
    window.require.config({
      paths: {
        "@jupyter-widgets/html-manager/dist": new URL("vendor/html-manager", here).href,
      },
    });
  }

  // Widget labels are typeset through MathJax 2's MathJax.Hub.Queue; the book loads
  // MathJax 3, which has no Hub. Once the (deferred) MathJax 3 script has run, give it
  // a Hub.Queue that hands "Typeset" jobs to MathJax 3.
  document.addEventListener("DOMContentLoaded", function () {
    var mj = window.MathJax;
    if (!mj || !mj.startup || mj.Hub) {
      return;
    }
    mj.Hub = {
      Queue: function () {
        var nodes = [];
        for (var i = 0; i < arguments.length; i++) {
          var job = arguments[i];
          if (Array.isArray(job) && job[0] === "Typeset" && job[2]) {
            nodes.push(job[2]);
          }
        }
        if (nodes.length) {
          mj.startup.promise
            .then(function () {
              return mj.typesetPromise(nodes);
            })
            .catch(function (err) {
              console.warn("MathJax could not typeset a widget label:", err);
            });
        }
      },
    };
  });
})();
