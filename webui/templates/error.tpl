% rebase("layout.tpl")
<section class="card narrow">
<h1>{{_("Error")}} {{title}}</h1>
<p class="error">{{message}}</p>
<p><a href="/">{{_("Back to the start page")}}</a></p>
</section>
