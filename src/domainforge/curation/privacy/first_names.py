"""Common US first names (the ones most often given from the 1920s to the 2010s, by US Social
Security name statistics), as data for finding English names with no cue ("Adam Booth asked ...").

AMBIGUOUS_FIRST_NAMES are also ordinary capitalised words in medical prose and headings (Will, Mark,
Gene, Grace, Hope, May, Rose, Jordan, Austin, Tyler): they only count in mid-sentence, where a
capital letter means a proper noun ("I spoke with Mark Wade about ..."), never at a sentence or
heading start ("Mark the date", "Gene Therapy Basics").
"""
from __future__ import annotations

FIRST_NAMES = frozenset(
    # male
    "Aaron Adam Adrian Alan Albert Alberto Alejandro Alex Alexander Alfred Allen Alvin Andre Andrew "
    "Andy Anthony Antonio Arnold Arthur Barry Ben Benjamin Bernard Billy Blake Bobby Bradley Brandon "
    "Brendan Brent Brett Brian Bruce Bryan Byron Caleb Calvin Carl Carlos Casey Cecil Chad Charles Charlie "
    "Chris Christopher Clarence Clifford Clinton Cody Colin Connor Corey Craig Curtis Dakota Damon Dan "
    "Daniel Danny Darius Darren Darryl Dave David Dean Dennis Derek Derrick Devin Dominic Donald Douglas "
    "Dustin Dwayne Dylan Eddie Edgar Eduardo Edward Edwin Eli Elijah Elliott Emmanuel Enrique Eric Erik "
    "Ernest Ethan Eugene Evan Felix Fernando Francis Francisco Fred Freddie Frederick Gabriel Garrett Gary "
    "Gavin George Gerald Gilbert Gordon Graham Gregory Harold Harry Harvey Hector Henry Herbert Howard "
    "Hugh Ian Isaac Isaiah Ivan Jacob Jaime Jake James Jamie Jared Jason Javier Jay Jeffery Jeffrey Jeremiah "
    "Jeremy Jerome Jerry Jesse Jesus Jim Jimmy Joe Joel Joey John Johnny Jon Jonathan Jorge Jose Joseph "
    "Joshua Juan Julian Julio Justin Keith Kelvin Ken Kenneth Kevin Kirk Kurt Kyle Lance Larry Lawrence "
    "Leo Leon Leonard Leroy Leslie Lewis Logan Lonnie Louis Lucas Luis Luke Malcolm Manuel Marc Marcus "
    "Mario Martin Marvin Matthew Maurice Melvin Micheal Michael Miguel Mike Mitchell Nathan Nathaniel Neil "
    "Nelson Nicholas Noah Norman Oliver Omar Oscar Owen Pablo Patrick Paul Pedro Peter Philip Phillip "
    "Preston Rafael Ralph Ramon Randall Randy Raymond Ricardo Richard Ricky Rick Robert Roberto Rodney Roger "
    "Roland Ronald Ronnie Ross Roy Ruben Russell Ryan Salvador Samuel Scott Sean Sergio Seth Shane Shawn "
    "Stanley Stephen Steve Steven Stuart Terrance Terry Theodore Thomas Timothy Todd Tommy Tony Travis Trevor "
    "Troy Vernon Victor Vincent Walter Warren Wayne Wesley William Willie Xavier Zachary "
    # female
    "Abigail Ada Adriana Alexandra Alexis Alice Alicia Alison Allison Alyssa Amanda Amelia Amy Ana Andrea "
    "Angela Angelica Angie Anita Ann Anna Anne Annette Annie Antoinette Ariana Arlene Ashley Audrey Ava "
    "Barbara Beatrice Becky Belinda Bernice Beth Bethany Betty Beverly Bonnie Brenda Briana Brianna Bridget "
    "Brittany Brooke Caitlin Camille Candace Carla Carmen Carol Caroline Carolyn Carrie Cassandra Catherine "
    "Cathy Cecilia Charlene Charlotte Chelsea Cheryl Chloe Christina Christine Cindy Claire Clara Claudia "
    "Colleen Connie Constance Courtney Cynthia Daisy Dana Danielle Darlene Debbie Deborah Debra Delores "
    "Denise Diana Diane Dolores Donna Doris Dorothy Edith Edna Eileen Elaine Eleanor Elena Elizabeth Ella "
    "Ellen Eloise Emily Emma Erica Erika Erin Esther Ethel Eva Evelyn Felicia Florence Frances Gail "
    "Gabriela Gabrielle Genevieve Gina Gladys Gloria Gwendolyn Hailey Haley Hannah Harriet Helen Ida "
    "Irene Isabel Isabella Jacqueline Jamie Jane Janet Janice Jean Jeanette Jeanne Jenna Jennifer Jenny "
    "Jessica Jill Joan Joann Joanna Joanne Jocelyn Josephine Joyce Juanita Judith Judy Julia Julie "
    "Kaitlyn Karen Kari Karla Kate Katelyn Katherine Kathleen Kathryn Kathy Katie Katrina Kayla Kelly "
    "Kelsey Kendra Kimberly Kristen Kristin Kristina Kristy Laura Lauren Laurie Leah Leticia Lillian Linda "
    "Lindsay Lindsey Lisa Lois Loretta Lori Lorraine Louise Lucille Lucy Lydia Lynn Mackenzie Madeline "
    "Mallory Mandy Marcia Margaret Maria Marian Marie Marilyn Marion Marjorie Marlene Martha Mary "
    "Maureen Megan Melanie Melinda Melissa Meredith Michele Michelle Mildred Miranda Misty Molly Monica "
    "Monique Nancy Naomi Natalie Natasha Nicole Nina Nora Norma Olivia Paige Pamela Patricia Paula "
    "Pauline Peggy Penny Phyllis Priscilla Rachel Rebecca Regina Renee Rhonda Rita Roberta Robin Rosa "
    "Rosemary Ruth Sabrina Samantha Sandra Sara Sarah Savannah Shannon Sharon Sheila Shelby Shelly Sherry "
    "Shirley Sierra Sofia Sonia Sophia Stacey Stacy Stephanie Susan Suzanne Sylvia Tamara Tammy Tanya "
    "Tara Teresa Terri Theresa Tiffany Tina Toni Tonya Tracey Tracy Valerie Vanessa Vera Veronica "
    "Vicki Vickie Victoria Virginia Vivian Wanda Wendy Whitney Yolanda Yvonne Zoe "
    # either
    "Alexis Ashton Avery Bailey Casey Dana Devon Jamie Jessie Kelly Kendall Kerry Lee Leslie Marion "
    "Quinn Riley Robin Shannon Shelby Sidney Stacy Terry Tracy "
    # more of the 1920s-1950s
    "Agnes Alma Bertha Clyde Chester Claude Elmer Elsie Fannie Floyd Gertrude Hattie Herman Homer Horace "
    "Inez Lena Lester Lloyd Lola Lula Luther Mabel Marguerite Milton Minnie Myrtle Nellie Otis Percy "
    "Rufus Sally Velma Virgil Wallace Willard Wilma "
    # more of the 1960s-1990s
    "Abby Alexa Brad Brittney Breanna Cassie Cedric Christy Clayton Colby Cory Darnell Darrell Deanna "
    "Desiree Dillon Greg Hayley Heidi Jamal Jeff Jermaine Jillian Jodi Josh Keisha Kim Kristine Krystal "
    "Lamar Latoya Malik Matt Meghan Nate Nick Reginald Rebekah Ron Sam Shaun Sheryl Sonya Tabitha Tamika "
    "Tasha Terrell Tim Tom Trent Tristan Tyrone Zach "
    # more of the 2000s-2010s
    "Aiden Aubrey Brayden Carson Colton Easton Jayden Kaylee Kylie Landon Layla Liam Lila Mateo Mila "
    "Nolan Penelope Scarlett Stella Wyatt Zoey".split()
)
AMBIGUOUS_FIRST_NAMES = frozenset(
    "Will Bill May June April August Grace Hope Faith Joy Mark Rose Ruby Pearl Dawn Summer Autumn Holly "
    "Heather Amber Crystal Jasmine Ivy Iris Violet Hazel Hunter Grant Miles Chase Guy Frank Gene Earl "
    "Rocky Pat Sue Don Ray Max Jack Dale Glen Wade Carter Mason Jordan Austin Madison Tyler Taylor "
    "Parker Morgan Cameron Christian Angel Brandy Destiny Harper Brooklyn".split()
)
