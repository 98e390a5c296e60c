"""The lab: watch minigan train a 2-D GAN live in the browser, one step at a time, with the code beside each view.

    python -m minigan.lab          # then open the address it prints (http://127.0.0.1:8000/)

After GAN Lab (Kahng et al. 2018, "GAN Lab: Understanding Complex Deep Generative Models using Interactive
Visual Experimentation"), whose views and controls it follows; but here the GAN is trained by minigan's
own engine in the server, and every view names the function that computes it and shows its source.

    playground     the run: a GAN of two MLPs, stepped by D step, G step or iteration; play, slow motion
    views          what the page draws: samples, D's heatmap, G's gradient on each sample, the manifold, divergences
    settings       every knob of the page with its accepted range; the presets that retell the lectures
    distributions  the 2-D data: the ring of 8 Gaussians, a line, two clusters, a circle, three disks, a drawing
    sources        the code beside the picture: which function computes each view and step, and its source
    server         the JSON API and the page's files, on the standard library's http.server

``python -m minigan.lab`` runs ``__main__.py`` (flags --port, --host, --seed, --backend). The page itself is ``static/`` (plain HTML, CSS and JavaScript: nothing to build, nothing fetched).
Imported on demand, like ``gans`` and ``tools``.
"""
