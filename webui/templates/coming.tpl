% rebase("layout.tpl")
<section class="card">
<h1>{{title}}</h1>
<p class="coming">{{_("Not available yet.")}}</p>
<p>{{text}}</p>
</section>
